/*
 * Helpers shared by gridgov's pages (plan.js, import.js): strings with
 * placeholders, "中文 English" labels, and building DOM nodes without innerHTML
 * (text is always inserted as text: nothing from the server is parsed as markup).
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

  return {fmt: fmt, el: el, clear: clear, strings: strings};
})();
