/*
 * The jobs and webhooks page (templates/jobs.html): a failed job's retry, a
 * webhook's deletion and registration go to /api/v1 with the page's CSRF
 * token. The answer is shown as text (the new webhook's secret once, or the
 * server's bilingual error), never as markup; a done change reloads the page.
 */
(function () {
  'use strict';

  var CSRF = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  var said = document.querySelector('[data-said]');

  function say(text, failed) { gg.say(said, text, failed); }

  function failure(res) {
    var error = (res.body && res.body.error) || {};
    say(error.message || String(res.status), true);
  }

  function act(method, url) {
    gg.send(method, url, {}, CSRF).then(function (res) {
      if (res.ok) { window.location.reload(); } else { failure(res); }
    });
  }

  document.querySelectorAll('[data-retry]').forEach(function (button) {
    button.addEventListener('click', function () { act('POST', button.dataset.retry); });
  });
  document.querySelectorAll('[data-delete]').forEach(function (button) {
    button.addEventListener('click', function () { act('DELETE', button.dataset.delete); });
  });

  var form = document.querySelector('[data-webhook-form]');
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var body = {
      name: form.elements.name.value,
      url: form.elements.url.value,
      events: [].slice.call(form.querySelectorAll('input[name=events]:checked'))
        .map(function (box) { return box.value; }),
      grid_code: form.elements.grid_code.value || null
    };
    if (form.elements.secret.value) { body.secret = form.elements.secret.value; }
    gg.send('POST', form.dataset.url, body, CSRF).then(function (res) {
      if (!res.ok) { failure(res); return; }
      say(form.dataset.created + ' ' + res.body.secret, false);
      form.reset();
    });
  });
})();
