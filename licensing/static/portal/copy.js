// "Copy" buttons: <button data-copy="element-id" data-done="Copied">. Served by the app (CSP 'self');
// without script the address stays selectable text.
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    var text = document.getElementById(button.dataset.copy).textContent.trim();
    navigator.clipboard.writeText(text).then(function () { button.textContent = button.dataset.done; });
  });
});
