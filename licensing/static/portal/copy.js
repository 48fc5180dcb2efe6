// "Copy" buttons: <button data-copy="element-id" data-done="Copied">; spaces that only group digits
// for the eye (an account number) are left out of what is copied. Served by the app (CSP 'self');
// without script the address stays selectable text.
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    var text = document.getElementById(button.dataset.copy).textContent.trim();
    if (/^[0-9 ]+$/.test(text)) { text = text.replace(/ /g, ""); }
    navigator.clipboard.writeText(text).then(function () { button.textContent = button.dataset.done; });
  });
});
