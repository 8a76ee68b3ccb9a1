/* Signing in with an API token, and calling the API with it. */
"use strict";

const Suishoupai = (() => {
  const KEY = "suishoupai.token";

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || `HTTP ${status}`);
      this.status = status;
      this.body = body || {};
    }
  }

  function token() {
    return sessionStorage.getItem(KEY);
  }

  async function api(path, options = {}) {
    const headers = Object.assign({}, options.headers || {}, {
      Authorization: `Bearer ${token()}`,
    });
    const response = await fetch(path, Object.assign({}, options, { headers }));
    if (response.status === 401) {
      sessionStorage.removeItem(KEY);
      showSignIn("Your token was not accepted: sign in again.");
      throw new ApiError(401, null);
    }
    const type = response.headers.get("Content-Type") || "";
    const body = type.includes("json") ? await response.json() : await response.text();
    if (!response.ok) {
      throw new ApiError(response.status, typeof body === "object" ? body : null);
    }
    return { status: response.status, body };
  }

  function showSignIn(message) {
    document.getElementById("page").hidden = true;
    document.getElementById("sign-out").hidden = true;
    document.getElementById("sign-in").hidden = false;
    document.getElementById("sign-in-error").textContent = message || "";
  }

  function start(onReady) {
    const form = document.getElementById("sign-in");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = document.getElementById("token").value.trim();
      if (!value) return;
      sessionStorage.setItem(KEY, value);
      form.reset();
      enter();
    });
    document.getElementById("sign-out").addEventListener("click", () => {
      sessionStorage.removeItem(KEY);
      showSignIn();
    });

    function enter() {
      document.getElementById("sign-in").hidden = true;
      document.getElementById("page").hidden = false;
      document.getElementById("sign-out").hidden = false;
      Promise.resolve(onReady()).catch((error) => {
        if (error.status !== 401) setStatus(error.message, "bad");
      });
    }

    if (token()) enter();
    else showSignIn();
  }

  function setStatus(text, kind) {
    const status = document.getElementById("status");
    if (!status) return;
    status.textContent = text;
    status.className = kind || "";
  }

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([key, value]) => {
      if (key === "class") node.className = value;
      else if (key.startsWith("data-")) node.setAttribute(key, value);
      else node[key] = value;
    });
    children.forEach((child) => {
      if (child !== null && child !== undefined) {
        node.append(child instanceof Node ? child : String(child));
      }
    });
    return node;
  }

  return { api, start, setStatus, element, ApiError };
})();
