/* Supervisors' pages: load the server-drawn view with the signed-in token, and
   download files from the API with it. */
"use strict";

(() => {
  const { api, start, setStatus } = Suishoupai;
  const view = document.getElementById("view");
  const form = document.getElementById("period");

  function query() {
    if (!form) return "";
    const params = new URLSearchParams();
    new FormData(form).forEach((value, key) => {
      if (String(value).trim()) params.set(key, value);
    });
    return params.toString();
  }

  async function show() {
    setStatus("载入中 Loading…");
    const search = query();
    const { body } = await api(view.dataset.source + (search ? `?${search}` : ""));
    view.innerHTML = body;
    document.body.dataset.loaded = view.dataset.view;
    setStatus("");
  }

  async function download(button) {
    const search = button.hasAttribute("data-with-query") ? query() : "";
    const path = button.dataset.download + (search ? `?${search}` : "");
    const response = await fetch(path, {
      headers: { Authorization: `Bearer ${sessionStorage.getItem("suishoupai.token")}` },
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.message || `HTTP ${response.status}`);
    }
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || "download";
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = name;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const search = query();
      history.replaceState(null, "", search ? `?${search}` : location.pathname);
      show().catch((error) => setStatus(error.message, "bad"));
    });
  }
  document.querySelectorAll("[data-download]").forEach((button) => {
    button.addEventListener("click", () => {
      download(button).catch((error) => setStatus(error.message, "bad"));
    });
  });
  start(show);
})();
