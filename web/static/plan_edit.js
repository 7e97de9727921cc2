/*
 * Topological editing on the planners' page /plan (plan.js calls it in the
 * "修改边界" mode), as planners know it from QGIS:
 *
 * - a vertex shared by neighbouring grids moves in all of them ("pinning"):
 *   when a vertex of the edited grid is dragged, the coincident vertices of its
 *   siblings (within PIN_DEGREES) move with it, and a vertex added on a shared
 *   edge is added to the neighbour's edge too, so that pulling it drags the edge
 *   in both grids. The preview and the save send every grid that changed
 *   (PUT /grids/<code> {geometry, version, neighbours: {code: {geometry,
 *   version}}}); the server checks each one (jurisdiction, version, what it
 *   pushes into others) as for a single redraw.
 *   Why on the page rather than a server rule that hands a pulled-back area to
 *   the neighbour across the edge: the planner sees, while dragging, the very
 *   boundaries that will be saved (the neighbours' moved edges are drawn dashed),
 *   a junction of three grids gives each neighbour its own triangle (a rule
 *   would give the whole freed area to one of them), and the preview lists
 *   every grid that changes. No gap and no overlap, by construction.
 * - snapping: Leaflet-Geoman (free edition) edits the vertices; a moved or new
 *   vertex snaps to the siblings' and the parent's vertices and edges within
 *   SNAP_PX pixels (Alt held: no snapping). Geoman's paid edition pins shared
 *   vertices; the free one does not, hence the pinning here.
 * - a gap left by an edit (pinning switched off, a vertex of the parent's
 *   outline moved) is listed in the preview with one button per grid bordering
 *   it: the click hands the gap to that grid ("give": the server unions it in,
 *   every check in force) and previews again.
 * - undo: every step (a drag, a vertex added or removed, a gap handed over)
 *   is kept on a stack; Ctrl+Z or the 撤销 button goes back one step.
 *
 * Leaflet.draw stays for the split line (plan.js). No inline script (CSP);
 * strings from web/i18n.py through the page's config, as plan.js.
 */
window.gridgovPlanEdit = (function () {
  'use strict';

  // Vertices this close (degrees, about 1 mm) are one shared vertex.
  var PIN_DEGREES = 1e-8;
  var SNAP_PX = 10;
  var GEOMAN = {snappable: true, snapDistance: SNAP_PX, snapVertex: true,
                allowSelfIntersection: false, draggable: false,
                removeLayerBelowMinVertexCount: false, preventMarkerRemoval: false};
  var GHOST = {color: '#E69F00', weight: 2, dashArray: '4 4', interactive: false,
               snapIgnore: true};

  // Only the layers named here take part (L.PM.setOptIn): the edited grid gets
  // Geoman's handles, its siblings and the parent's outline are snap targets;
  // households, previews and labels are neither.
  if (window.L && L.PM) { L.PM.setOptIn(true); }

  // --- lat/lng arrays -------------------------------------------------------------

  function copy(latlngs) {
    return latlngs.map(function (x) {
      return Array.isArray(x) ? copy(x) : L.latLng(x.lat, x.lng);
    });
  }

  function same(a, b) {
    return Math.abs(a.lat - b.lat) <= PIN_DEGREES && Math.abs(a.lng - b.lng) <= PIN_DEGREES;
  }

  function equal(a, b) {
    if (Array.isArray(a) !== Array.isArray(b)) { return false; }
    if (!Array.isArray(a)) { return a.lat === b.lat && a.lng === b.lng; }
    return a.length === b.length && a.every(function (x, i) { return equal(x, b[i]); });
  }

  // Every ring (array of LatLng) of a polygon's lat/lngs, at any depth.
  function rings(latlngs, out) {
    out = out || [];
    if (latlngs.length && !Array.isArray(latlngs[0])) {
      out.push(latlngs);
    } else {
      latlngs.forEach(function (x) { rings(x, out); });
    }
    return out;
  }

  function at(latlngs, path) {
    return path.reduce(function (x, i) { return x[i]; }, latlngs);
  }

  // --- the editor -----------------------------------------------------------------

  function create(ctx) {
    // ctx: {map, state, parentLayer, both, el, changed(), preview(),
    //       root: the page's #plan element}
    var state = ctx.state, el = ctx.el, both = ctx.both;
    var ghosts = L.layerGroup().addTo(ctx.map);
    var edit = {layer: null, code: null, original: null, last: null, undo: [],
                give: [], pins: null};

    var undoButton = el('button', {type: 'button', id: 'plan-undo', hidden: true,
                                   disabled: true, title: 'Ctrl+Z'},
                        both('plan_undo'));
    var preview = ctx.root.querySelector('#plan-preview');
    preview.parentNode.insertBefore(undoButton, preview);
    undoButton.addEventListener('click', undo);

    var pinBox = el('input', {type: 'checkbox', id: 'plan-pin', checked: true});
    var pinLabel = el('label', {className: 'plan-pin', hidden: true},
                      [pinBox, ' ', both('plan_pin')]);
    var hint = ctx.root.querySelector('#plan-hint');
    hint.parentNode.insertBefore(pinLabel, hint.nextSibling);

    document.addEventListener('keydown', function (e) {
      var tag = (e.target && e.target.tagName) || '';
      if ((e.ctrlKey || e.metaKey) && !e.shiftKey && (e.key === 'z' || e.key === 'Z') &&
          edit.layer && tag !== 'INPUT' && tag !== 'TEXTAREA') {
        e.preventDefault();
        undo();
      }
    });

    function others() {
      return Object.keys(state.children).filter(function (c) { return c !== edit.code; });
    }

    // code -> copy of the lat/lngs of every child, and the gaps handed over
    function snapshot() {
      var out = {grids: {}, give: edit.give.slice()};
      Object.keys(state.children).forEach(function (c) {
        out.grids[c] = copy(state.children[c].layer.getLatLngs());
      });
      return out;
    }

    function restore(snap) {
      Object.keys(snap.grids).forEach(function (c) {
        var child = state.children[c];
        if (!child || equal(child.layer.getLatLngs(), snap.grids[c])) { return; }
        child.layer.setLatLngs(copy(snap.grids[c]));
      });
      edit.give = snap.give.slice();
      if (edit.layer) {  // Geoman's handles follow the restored vertices
        edit.layer.pm.disable();
        edit.layer.pm.enable(GEOMAN);
      }
    }

    // The step just made is kept: the state before it goes on the undo stack.
    function commit(keepGive) {
      if (!keepGive) { edit.give = []; }
      var now = snapshot();
      if (sameGrids(now, edit.last) && now.give.length === edit.last.give.length) {
        return;
      }
      edit.undo.push(edit.last);
      edit.last = now;
      changed();
    }

    function sameGrids(a, b) {
      return Object.keys(a.grids).every(function (c) {
        return b.grids[c] && equal(a.grids[c], b.grids[c]);
      });
    }

    function changed() {
      state.edited = !!edit.layer && (grids().length > 0 || edit.give.length > 0);
      undoButton.disabled = !edit.undo.length;
      ctx.changed();
    }

    function undo() {
      if (!edit.layer || !edit.undo.length || state.busy) { return; }
      var back = edit.undo.pop();
      restore(back);
      edit.last = snapshot();
      changed();
    }

    // Codes of the children whose boundary differs from the one loaded.
    function grids() {
      return Object.keys(state.children).filter(function (c) {
        return edit.original && edit.original.grids[c] &&
          !equal(state.children[c].layer.getLatLngs(), edit.original.grids[c]);
      });
    }

    // The siblings' vertices at ``latlng``: [{layer, ring, index}].
    function pinsAt(latlng) {
      var out = [];
      if (!pinBox.checked) { return out; }
      others().forEach(function (c) {
        var layer = state.children[c].layer;
        rings(layer.getLatLngs()).forEach(function (ring) {
          ring.forEach(function (v, i) {
            if (same(v, latlng)) { out.push({layer: layer, ring: ring, index: i}); }
          });
        });
      });
      return out;
    }

    function onDragStart(e) {
      var v = at(edit.layer.getLatLngs(), e.indexPath);
      edit.pins = pinsAt(v);
    }

    // While dragging: the neighbours' edges that move along, dashed.
    function onDrag(e) {
      ghosts.clearLayers();
      var v = at(edit.layer.getLatLngs(), e.indexPath);
      (edit.pins || []).forEach(function (p) {
        var n = p.ring.length;
        ghosts.addLayer(L.polyline([p.ring[(p.index + n - 1) % n], v,
                                    p.ring[(p.index + 1) % n]], GHOST));
      });
    }

    function onDragEnd(e) {
      ghosts.clearLayers();
      var pins = edit.pins || [];
      edit.pins = null;
      if (e.intersectionReset) { return; }  // Geoman put the vertex back
      var v = at(edit.layer.getLatLngs(), e.indexPath);
      var layers = [];
      pins.forEach(function (p) {
        p.ring[p.index] = L.latLng(v.lat, v.lng);
        if (layers.indexOf(p.layer) < 0) { layers.push(p.layer); }
      });
      layers.forEach(function (l) { l.setLatLngs(l.getLatLngs()); });
      commit();
    }

    // A vertex added on an edge shared with a sibling is added to its edge too.
    function onVertexAdded(e) {
      var path = e.indexPath, ring = at(edit.layer.getLatLngs(), path.slice(0, -1));
      var i = path[path.length - 1], n = ring.length;
      var prev = ring[(i + n - 1) % n], next = ring[(i + 1) % n], v = ring[i];
      if (pinBox.checked) {
        others().forEach(function (c) {
          var layer = state.children[c].layer, touched = false;
          rings(layer.getLatLngs()).forEach(function (r) {
            for (var k = 0; k < r.length; k++) {
              var a = r[k], b = r[(k + 1) % r.length];
              if ((same(a, prev) && same(b, next)) || (same(a, next) && same(b, prev))) {
                r.splice(k + 1, 0, L.latLng(v.lat, v.lng));
                touched = true;
                break;
              }
            }
          });
          if (touched) { layer.setLatLngs(layer.getLatLngs()); }
        });
      }
      // dragged from the middle handle: the drag's end is the step
      if (!(e.marker && e.marker._dragging)) { commit(); }
    }

    // A vertex removed: removed too where a sibling has it between the same two
    // vertices (a straight shared border); a junction keeps it in the others.
    function onVertexRemoved(e) {
      // after Geoman's own handler, which puts the vertex back when its removal
      // makes the ring cross itself
      setTimeout(function () { removeShared(e); }, 0);
    }

    function removeShared(e) {
      if (!edit.layer) { return; }
      var removed = e.marker.getLatLng();
      var path = e.indexPath, ring = at(edit.layer.getLatLngs(), path.slice(0, -1));
      if (ring.some(function (v) { return same(v, removed); })) { return; }
      var i = path[path.length - 1], n = ring.length;
      var prev = ring[(i + n - 1) % n], next = ring[i % n];
      if (pinBox.checked) {
        others().forEach(function (c) {
          var layer = state.children[c].layer, touched = false;
          rings(layer.getLatLngs()).forEach(function (r) {
            var m = r.length;
            for (var k = 0; k < m; k++) {
              var a = r[(k + m - 1) % m], b = r[(k + 1) % m];
              if (same(r[k], removed) && ((same(a, prev) && same(b, next)) ||
                                          (same(a, next) && same(b, prev)))) {
                r.splice(k, 1);
                touched = true;
                break;
              }
            }
          });
          if (touched) { layer.setLatLngs(layer.getLatLngs()); }
        });
      }
      commit();
    }

    function targets(on) {
      others().forEach(function (c) {
        var o = state.children[c].layer.options;
        if (on) { o.snapIgnore = false; } else { delete o.snapIgnore; }
      });
      ctx.parentLayer.eachLayer(function (l) {
        if (on) { l.options.snapIgnore = false; } else { delete l.options.snapIgnore; }
      });
    }

    var HANDLERS = {'pm:markerdragstart': onDragStart, 'pm:markerdrag': onDrag,
                    'pm:markerdragend': onDragEnd, 'pm:vertexadded': onVertexAdded,
                    'pm:vertexremoved': onVertexRemoved};

    // Edit the selected grid's layer: Geoman's handles, snapping, pinning.
    function start(layer, code) {
      edit.layer = layer;
      edit.code = code;
      edit.undo = [];
      edit.give = [];
      edit.original = edit.last = snapshot();
      layer.options.pmIgnore = false;
      L.PM.reInitLayer(layer);
      targets(true);
      layer.on(HANDLERS);
      layer.pm.enable(GEOMAN);
      undoButton.hidden = false;
      undoButton.disabled = true;
      pinLabel.hidden = false;
    }

    // Leave the mode: every grid back as loaded (plan.js rebuilds the edited one).
    function stop() {
      if (!edit.layer) { return; }
      var layer = edit.layer;
      layer.pm.disable();
      layer.off(HANDLERS);
      edit.layer = null;
      restore(edit.original);
      targets(false);
      ghosts.clearLayers();
      edit.original = edit.last = null;
      edit.undo = [];
      edit.give = [];
      undoButton.hidden = true;
      pinLabel.hidden = true;
    }

    // What the redraw request carries besides the edited grid's boundary.
    function body() {
      var out = {};
      var changedCodes = grids().filter(function (c) { return c !== edit.code; });
      if (changedCodes.length) {
        out.neighbours = {};
        changedCodes.forEach(function (c) {
          var child = state.children[c];
          out.neighbours[c] = {geometry: child.layer.toGeoJSON(false).geometry,
                               version: child.feature.properties.version};
        });
      }
      if (edit.give.length) { out.give = edit.give.slice(); }
      return out;
    }

    function name(code) {
      var child = state.children[code];
      return child ? child.feature.properties.name : code;
    }

    // The preview's gaps, each with a button per grid that borders it.
    function showGaps(answer, box) {
      var info = answer.gap_info || [];
      if (!edit.layer || !info.length) { return; }
      box.appendChild(el('h3', {}, both('plan_kind_gap')));
      var list = el('ul', {className: 'plan-gaps', id: 'plan-gaps'});
      info.forEach(function (gap, i) {
        var item = el('li', {data: {at: gap.at.join(',')}},
                      [both('plan_gap_item', {n: i + 1, area: Math.round(gap.area_m2)}),
                       ' ']);
        gap.neighbours.forEach(function (code) {
          var button = el('button', {type: 'button', className: 'plan-give',
                                     data: {to: code}},
                          [both('plan_give'), ' ', name(code), ' ',
                           el('code', {}, code)]);
          button.addEventListener('click', function () { give(gap, code); });
          item.appendChild(button);
        });
        list.appendChild(item);
      });
      box.appendChild(list);
    }

    function give(gap, code) {
      if (state.busy || !edit.layer) { return; }
      var child = state.children[code];
      edit.give.push({at: gap.at, to: code,
                      version: child ? child.feature.properties.version : null});
      commit(true);
      ctx.preview();
    }

    return {start: start, stop: stop, body: body, showGaps: showGaps, undo: undo};
  }

  return create;
}());
