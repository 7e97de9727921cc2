/*
 * The 研判 items page (templates/judgements.html): marking a task done,
 * escalating an item and resolving it go to /api/v1/judgements with the
 * page's CSRF token. The server's answer is shown as text (its bilingual
 * error, naming the field), never as markup; a done change reloads the page.
 */
(function () {
  'use strict';

  var CSRF = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  var said = document.querySelector('[data-said]');

  function say(text, failed) { gg.say(said, text, failed); }

  function post(url, body) {
    gg.send('POST', url, body, CSRF).then(function (res) {
      if (res.ok) {
        say(said.dataset.saved, false);
        window.location.reload();
        return;
      }
      var error = (res.body && res.body.error) || {};
      say(error.message || String(res.status), true);
    });
  }

  document.querySelectorAll('[data-done]').forEach(function (button) {
    button.addEventListener('click', function () {
      post(button.dataset.done, {status: 'done'});
    });
  });
  document.querySelectorAll('form[data-escalate]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      post(form.dataset.escalate, {reason: form.elements.reason.value});
    });
  });
  document.querySelectorAll('form[data-resolve]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      post(form.dataset.resolve, {resolution: form.elements.resolution.value});
    });
  });
})();
