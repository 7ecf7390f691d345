"""Storage: Tortoise models, the group-commit writer and the history reader."""
