/*
 * The users page (templates/users.html): each grid picker finds the grids the
 * administrator may grant by their name, as the administrator types, and shows
 * each hit as its name chain (镇 › 村 › 综合网格 › 微网格); a click puts the
 * picked grid's code in the form's hidden "grid". Nobody types a code. The list
 * comes from /admin/grids, confined to the administrator's subtree on the server.
 * Text goes in as text nodes only (gg.el), never as markup.
 */
(function () {
  'use strict';

  var WAIT_MS = 200;  // typing pauses this long before a search goes out

  function wire(box) {
    var hidden = box.querySelector('input[name=grid]');
    var chosen = box.querySelector('[data-chosen]');
    var query = box.querySelector('[data-query]');
    var hits = box.querySelector('[data-hits]');
    var everywhere = box.querySelector('[data-everywhere-button]');
    var timer = null;
    var asked = 0;  // only the latest search's answer is shown

    function pick(code, text) {
      hidden.value = code;
      gg.clear(chosen);
      chosen.appendChild(document.createTextNode(text));
      gg.clear(hits);
      query.value = '';
    }

    function show(items) {
      gg.clear(hits);
      if (!items.length) {
        hits.appendChild(gg.el('li', {className: 'none'}, box.dataset.none));
        return;
      }
      items.forEach(function (g) {
        var text = g.chain.join(' › ');
        var button = gg.el('button', {type: 'button', data: {code: g.code}}, text);
        button.addEventListener('click', function () { pick(g.code, text); });
        hits.appendChild(gg.el('li', {}, button));
      });
    }

    function search() {
      var words = query.value.trim();
      var mine = ++asked;
      if (!words) { gg.clear(hits); return; }
      gg.getJSON(box.dataset.url + '?' + gg.query({q: words})).then(function (body) {
        if (mine === asked) { show(body.items || []); }
      }, function (err) {
        if (mine !== asked) { return; }
        gg.clear(hits);
        var e = err && err.body && err.body.error;
        hits.appendChild(gg.el('li', {className: 'none error'},
                               (e && e.message) || ('HTTP ' + (err && err.status))));
      });
    }

    query.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(search, WAIT_MS);
    });
    // Enter in the search box searches at once, it does not send the form
    query.addEventListener('keydown', function (e) {
      if (e.key === 'Enter') {
        e.preventDefault();
        clearTimeout(timer);
        search();
      }
    });
    if (everywhere) {
      everywhere.addEventListener('click', function () {
        pick('', box.dataset.everywhere);
      });
    }
  }

  [].forEach.call(document.querySelectorAll('[data-grid-picker]'), wire);
})();
