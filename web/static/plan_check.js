/*
 * The check page /plan/check (web/plan.py, templates/plan_check.html): the whole
 * hierarchy under a root checked (GET /api/v1/grids/check), every problem listed
 * by kind (gap, overlap, child outside its parent, household count, codes) with
 * its count, each with a link that opens /plan on the problem's parent grid,
 * zoomed to the problem and highlighted (plan_tools.js finds it again there). The
 * household warnings edits left on the grids they saved are listed too, with a
 * recount. Strings from web/i18n.py through the config; text as DOM text only.
 */
(function () {
  'use strict';

  var cfg = JSON.parse(document.getElementById('plan-check-config').textContent);
  var T = gg.strings(cfg.strings), both = T.both, zh = T.zh;
  var el = gg.el, clear = gg.clear;
  var CSRF = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  var page = document.getElementById('plan-check-page');
  var $ = function (id) { return document.getElementById(id); };
  // the kinds in the order geo/topology.py lists them
  var KINDS = ['gap', 'overlap', 'outside_parent', 'households', 'code_prefix', 'level',
               'invalid_geometry'];

  function setMsg(kind, parts) {
    var box = $('plan-check-msg');
    clear(box);
    box.className = 'plan-check-msg' + (kind ? ' ' + kind : '');
    [].concat(parts || []).forEach(function (p) { box.appendChild(p); });
  }

  // the API's times are China time: "2026-12-07 19:30 (北京时间)"
  function chinaTime(iso, lang) {
    return iso ? iso.slice(0, 10) + ' ' + iso.slice(11, 16) + ' (' +
      cfg.strings.plan_china_time[lang || 0] + ')' : '—';
  }

  function showLink(problem) {
    var url = cfg.urls.plan + '?' + gg.query({parent: problem.parent, problem: problem.kind,
                                               codes: problem.codes.join(',')});
    return el('a', {className: 'show', href: url}, both('plan_show_on_map'));
  }

  function area(p) {
    return p.area_m2 === null || p.area_m2 === undefined ? '' :
      ' · ' + (Math.round(p.area_m2 * 10) / 10).toLocaleString('zh-CN') + ' m²';
  }

  function problemList(problems, id) {
    var ul = el('ul', {className: 'plan-check-list', id: id});
    problems.forEach(function (p) {
      ul.appendChild(el('li', {data: {kind: p.kind, codes: p.codes.join(',')}}, [
        p.message, ' ', el('span', {className: 'meta'}, p.codes.join('、') + area(p)),
        ' ', showLink(p)]));
    });
    return ul;
  }

  function warningList(warnings) {
    var ul = el('ul', {className: 'plan-check-list', id: 'plan-check-warnings'});
    warnings.forEach(function (w) {
      var url = cfg.urls.plan + '?' + gg.query({parent: w.parent, select: w.code});
      ul.appendChild(el('li', {data: {code: w.code}}, [
        w.message, ' ', el('span', {className: 'meta'},
          both('plan_warning_since', {at: chinaTime(w.at), user: w.username || '—'},
               {at: chinaTime(w.at, 1), user: w.username || '—'})),
        ' ', el('a', {className: 'show', href: url}, both('plan_show_on_map'))]));
    });
    return ul;
  }

  function render(report) {
    var summary = $('plan-check-summary');
    var groups = $('plan-check-groups');
    clear(summary);
    clear(groups);
    var byKind = {};
    report.errors.forEach(function (p) { (byKind[p.kind] = byKind[p.kind] || []).push(p); });
    summary.appendChild(el('p', {id: 'plan-check-total'}, both('plan_check_summary', {
      grids: report.grids, errors: report.errors.length,
      warnings: report.warnings.length, slivers: report.slivers.length})));
    if (!report.errors.length && !report.warnings.length) {
      summary.appendChild(el('p', {className: 'plan-check-ok'},
                             ['✓ ', both('plan_check_clean')]));
    }
    var counts = el('ul', {className: 'plan-check-counts', id: 'plan-check-counts'});
    KINDS.concat(['warnings']).forEach(function (kind) {
      var n = kind === 'warnings' ? report.warnings.length : (byKind[kind] || []).length;
      counts.appendChild(el('li', {className: n ? '' : 'none', data: {kind: kind, n: n}},
        n ? el('a', {href: '#plan-check-' + kind}, [zh('plan_kind_' + kind), ' ', n]) :
          [zh('plan_kind_' + kind), ' 0']));
    });
    summary.appendChild(counts);
    KINDS.forEach(function (kind) {
      var list = byKind[kind];
      if (!list) { return; }
      groups.appendChild(el('h2', {id: 'plan-check-' + kind}, [
        both('plan_kind_' + kind), ' (' + list.length + ')']));
      groups.appendChild(problemList(list, 'plan-check-list-' + kind));
    });
    if (report.warnings.length) {
      groups.appendChild(el('h2', {id: 'plan-check-warnings-head'}, [
        both('plan_kind_warnings'), ' (' + report.warnings.length + ')']));
      var recount = el('button', {type: 'button', id: 'plan-recount'},
                       both('plan_recount'));
      recount.addEventListener('click', doRecount);
      groups.appendChild(el('p', {}, recount));
      groups.appendChild(warningList(report.warnings));
    }
    if (report.slivers.length) {
      var details = el('details', {id: 'plan-check-slivers'}, [
        el('summary', {}, [both('plan_kind_slivers'), ' (' + report.slivers.length + ')'])]);
      details.appendChild(problemList(report.slivers, 'plan-check-list-slivers'));
      groups.appendChild(details);
    }
  }

  function run() {
    page.dataset.state = 'loading';
    setMsg('info', both('plan_checking'));
    var url = cfg.urls.api + '/grids/check?' + gg.query({root: cfg.root});
    return gg.getJSON(url).then(function (report) {
      setMsg(null);
      render(report);
      page.dataset.state = 'ready';
    }, function (err) {
      setMsg('error', [both('plan_failed'), el('br'),
        document.createTextNode((err.body && err.body.error && err.body.error.message) ||
                                'HTTP ' + err.status)]);
      page.dataset.state = 'error';
    });
  }

  function doRecount() {
    var url = cfg.urls.api + '/grids/recount?' + gg.query({root: cfg.root});
    gg.send('POST', url, {}, CSRF).then(function (r) {
      if (!r.ok) {
        setMsg('error', [both('plan_failed'), el('br'), document.createTextNode(
          (r.body && r.body.error && r.body.error.message) || 'HTTP ' + r.status)]);
        return;
      }
      run().then(function () {
        setMsg('notice', both('plan_recounted', {n: r.body.recounted,
                                                 cleared: r.body.cleared}));
        page.dataset.state = 'recounted';
      });
    });
  }

  $('plan-check-root').addEventListener('change', function () {
    $('plan-check-root').form.submit();
  });
  run();
}());
