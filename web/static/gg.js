/*
 * Helpers shared by gridgov's pages (the overview map, plan.js, import.js,
 * dispatch.js, tracks.js, rankings): strings with placeholders, "中文 English"
 * labels, and building DOM nodes without innerHTML (text is always inserted as
 * text: nothing from the server is parsed as markup), and JSON requests to the API.
 */
window.gg = (function () {
  'use strict';

  // "{n} 户" with {n: 3} → "3 户"; unknown placeholders stay as they are.
  function fmt(text, args) {
    return text.replace(/\{(\w+)\}/g, function (m, k) {
      return args && k in args ? String(args[k]) : m;
    });
  }

  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (k) {
      if (k === 'data') {
        Object.keys(props.data).forEach(function (d) { node.dataset[d] = props.data[d]; });
      } else {
        node[k] = props[k];
      }
    });
    [].concat(children === undefined ? [] : children).forEach(function (c) {
      if (c === null || c === undefined) { return; }
      node.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    });
    return node;
  }

  // Content for Leaflet's bindTooltip, bindPopup, setContent and
  // setTooltipContent: Leaflet parses a string given to them as HTML, so a name
  // or a code goes to them only inside a node, as text.
  function text(value) { return el('span', {}, value); }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  // The page's table of strings, S[key] = [中文, English] (from web/i18n.py).
  function strings(S) {
    function zh(key, args) { return fmt(S[key][0], args); }
    // "中文 English": the English in a smaller grey span.
    function both(key, args, argsEn) {
      var span = document.createElement('span');
      span.appendChild(document.createTextNode(zh(key, args) + ' '));
      span.appendChild(el('span', {className: 'en'}, fmt(S[key][1], argsEn || args)));
      return span;
    }
    return {zh: zh, both: both};
  }

  // "a=1&b=x" of the parameters that have a value (null, undefined, '' left out).
  function query(params) {
    return Object.keys(params).filter(function (k) {
      return params[k] !== undefined && params[k] !== null && params[k] !== '';
    }).map(function (k) {
      return encodeURIComponent(k) + '=' + encodeURIComponent(params[k]);
    }).join('&');
  }

  // GET JSON; rejects with {status, body} when the answer is not 2xx.
  function getJSON(url) {
    return fetch(url, {credentials: 'same-origin', headers: {Accept: 'application/json'}})
      .then(function (res) {
        return res.json().catch(function () { return null; }).then(function (body) {
          if (!res.ok) { throw {status: res.status, body: body}; }
          return body;
        });
      });
  }

  // POST / PUT JSON with the page's CSRF token; resolves with {ok, status, body},
  // a network failure as status 0.
  function send(method, url, body, csrf) {
    return fetch(url, {
      method: method, credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', Accept: 'application/json',
                'X-CSRFToken': csrf},
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (b) {
        return {ok: res.ok, status: res.status, body: b};
      });
    }, function (err) {
      return {ok: false, status: 0, body: {error: {message: String(err)}}};
    });
  }

  return {fmt: fmt, el: el, text: text, clear: clear, strings: strings,
          getJSON: getJSON, send: send, query: query};
})();
