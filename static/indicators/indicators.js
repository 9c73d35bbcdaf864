// The print buttons of the indicators pages (no inline script: the CSP allows only files).
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});
