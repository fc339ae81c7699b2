// The login page: a token typed here is sent once, in a header (never in a URL), and the
// master answers with an HttpOnly session cookie; then on to the task list.
const form = document.getElementById("login");
const error = document.getElementById("error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = document.getElementById("token").value.trim();
  error.hidden = true;
  try {
    const response = await fetch("/api/session", { headers: { Authorization: `Bearer ${token}` } });
    if (response.ok) {
      location.replace("/");
      return;
    }
    error.textContent = (await response.text()).trim() || `refused (${response.status})`;
  } catch {
    error.textContent = "the master cannot be reached";
  }
  error.hidden = false;
});
