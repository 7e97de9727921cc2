/*
 * The 研判 levels on the users page (templates/users.html, an administrator of
 * the whole deployment): each form adds or changes a level above the town
 * through /api/v1/judgement-levels with the page's CSRF token; the grids
 * covered and the members are typed comma-separated (empty grids: the whole
 * deployment). The server's answer is shown as text, never as markup; a done
 * change reloads the page.
 */
(function () {
  'use strict';

  var section = document.getElementById('jd-levels');
  if (!section) { return; }
  var CSRF = section.dataset.csrf;
  var said = section.querySelector('[data-said]');

  function say(text, failed) { gg.say(said, text, failed); }

  function list(value) {
    return value.split(/[,，、\s]+/).filter(function (v) { return v; });
  }

  function done(res) {
    if (res.ok) {
      say(section.dataset.saved, false);
      window.location.reload();
      return;
    }
    var error = (res.body && res.body.error) || {};
    say(error.message || String(res.status), true);
  }

  section.querySelectorAll('form[data-level-form]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var covers = list(form.elements.covers.value);
      var body = {
        name: form.elements.name.value.trim(),
        rank: parseInt(form.elements.rank.value, 10),
        covers: covers.length ? covers : null,
        members: list(form.elements.members.value)
      };
      var url = form.dataset.url;
      gg.send(url ? 'PUT' : 'POST', url || section.dataset.url, body, CSRF).then(done);
    });
  });
  section.querySelectorAll('[data-level-delete]').forEach(function (button) {
    button.addEventListener('click', function () {
      gg.send('DELETE', button.dataset.levelDelete, {}, CSRF).then(done);
    });
  });
})();
