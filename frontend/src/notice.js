// One line at the top of the view for failures the user should know about (hub unreachable,
// API errors). Logged with console.warn: an expected failure is not a page error.

let banner = null;
let timer = 0;

export function showError(error) {
  if (error && error.name === "AbortError") return;
  const message = error && error.message ? error.message : String(error);
  console.warn("HostPulse:", message);
  if (!banner) {
    banner = document.createElement("div");
    banner.className = "notice";
    banner.setAttribute("role", "status");
    document.body.append(banner);
  }
  banner.textContent = message;
  banner.hidden = false;
  clearTimeout(timer);
  timer = setTimeout(() => {
    banner.hidden = true;
  }, 8000);
}
