"""Collection: which sources run (plan), on what schedule, in which threads, and the samples they give."""
