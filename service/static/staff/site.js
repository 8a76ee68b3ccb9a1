/* Small helps for the staff and reporter pages: the phone's position, photo previews. */
"use strict";

(() => {
  const locate = document.getElementById("locate");
  if (locate && "geolocation" in navigator) {
    const status = document.getElementById("locate-status");
    locate.hidden = false;
    locate.addEventListener("click", () => {
      status.textContent = locate.dataset.locating;
      navigator.geolocation.getCurrentPosition(
        (position) => {
          document.getElementById("lat").value = position.coords.latitude.toFixed(6);
          document.getElementById("lng").value = position.coords.longitude.toFixed(6);
          status.textContent = locate.dataset.located;
          document.body.dataset.located = "yes";
        },
        () => {
          status.textContent = locate.dataset.failed;
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
      );
    });
  }

  // Show the chosen photos before they are sent; nothing leaves the phone here.
  for (const input of document.querySelectorAll("input[type=file][data-preview]")) {
    const list = document.getElementById(input.dataset.preview);
    input.addEventListener("change", () => {
      for (const image of list.querySelectorAll("img")) URL.revokeObjectURL(image.src);
      list.replaceChildren();
      for (const file of input.files) {
        const image = document.createElement("img");
        image.src = URL.createObjectURL(file);
        image.alt = file.name;
        const item = document.createElement("li");
        item.append(image);
        list.append(item);
      }
    });
  }
})();
