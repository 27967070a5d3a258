/**
 * The page's own script, inlined after the chart runtimes. It reads the report data from the
 * JSON element, embeds every chart with vega-embed's SVG renderer (expressions interpreted,
 * never compiled with eval, so the page's CSP can forbid eval), and drives the run selector.
 * Recording strings only ever reach the DOM through textContent or vega's SVG text nodes.
 * Kept as plain ES2020 source (not a compiled function) so no bundler helper leaks into it.
 * Each container gets data-rendered="1" (or "error") when done, which the browser tests wait on.
 */
export const CLIENT_SCRIPT = String.raw`(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  // only the export actions (SVG/PNG for slides); source, compiled and editor would open
  // windows or the network
  var opts = {actions: {compiled: false, editor: false, export: true, source: false}, ast: true, mode: 'vega-lite', renderer: 'svg', tooltip: {theme: 'light'}};

  function done(el, ok, err) {
    el.setAttribute('data-rendered', ok ? '1' : 'error');
    if (!ok) {
      var msg = document.createElement('p');
      msg.className = 'chart-error';
      msg.textContent = 'This chart could not be drawn: ' + (err && err.message ? err.message : String(err));
      el.appendChild(msg);
      console.error(err);
    }
  }

  // vega measures label widths with the font: load the inlined one before drawing
  var fontsReady = document.fonts && document.fonts.load ?
    Promise.all([document.fonts.load("400 12px 'Report Sans'"), document.fonts.load("700 12px 'Report Sans'")]).catch(function () {}) :
    Promise.resolve();
  fontsReady.then(function () {
    document.querySelectorAll('[data-chart]').forEach(function (el) {
      var spec = data.charts[el.getAttribute('data-chart')];
      if (!spec) return done(el, false, new Error('no spec'));
      vegaEmbed(el, spec, opts).then(function () { done(el, true); }, function (err) { done(el, false, err); });
    });
    startDrill();
  });

  function startDrill() {
    var drill = data.drill;
    var select = document.getElementById('run-select');
    var target = document.getElementById('drill-chart');
    if (!drill || !select || !target) return;
    var view = null;
    var domView = null;
    var meta = document.getElementById('drill-meta');
    var domBox = document.getElementById('drill-domains');
    var domChart = document.getElementById('drill-domains-chart');
    var domTable = document.getElementById('drill-domains-table');

    function mb(v) { return v === null || v === undefined ? '' : Math.round(v).toLocaleString('en-US') + ' MB'; }
    function num(v, digits) { return v === null || v === undefined ? '' : v.toFixed(digits); }

    // the tool calls that ran in their own cgroup: a bar chart and a table (textContent only)
    function showDomains(run) {
      if (!domBox) return;
      if (domView) { domView.finalize(); domView = null; }
      while (domChart.firstChild) domChart.removeChild(domChart.firstChild);
      while (domTable.firstChild) domTable.removeChild(domTable.firstChild);
      var ds = run.domains || [];
      domBox.hidden = ds.length === 0;
      domChart.removeAttribute('data-rendered');
      if (ds.length === 0 || !drill.domainTemplate) return;
      var rowsD = ds.map(function (d) { return {start: d[0], end: d[1], domain: d[2], command: d[3], peak_mb: d[4], cpu_s: d[5], throttled_s: d[6], frozen_s: d[7], oom_kills: d[8], source: d[9]}; });
      var head = domTable.createTHead().insertRow();
      ['cgroup', 'command', 'start s', 'duration s', 'peak memory', 'CPU s', 'throttled s', 'frozen s', 'OOM kills'].forEach(function (h) {
        var th = document.createElement('th');
        th.textContent = h;
        head.appendChild(th);
      });
      var body = domTable.createTBody();
      rowsD.forEach(function (r) {
        var tr = body.insertRow();
        tr.setAttribute('data-domain', r.domain);
        if (r.throttled_s + r.frozen_s > 0) tr.className = 'held';
        if (r.oom_kills > 0) tr.className += ' oom';
        [[r.domain, false], [r.command + (r.source === 'domain' ? '  (no transcript call)' : ''), false], [num(r.start, 2), true], [num(r.end - r.start, 2), true], [mb(r.peak_mb), true],
          [num(r.cpu_s, 2), true], [num(r.throttled_s, 2), true], [num(r.frozen_s, 2), true], [String(r.oom_kills), true]].forEach(function (c) {
          var td = tr.insertCell();
          td.textContent = c[0];
          if (c[1]) td.className = 'num';
        });
      });
      domChart.setAttribute('data-rendered', '0');
      vegaEmbed(domChart, Object.assign({}, drill.domainTemplate, {datasets: {domains: rowsD}}), opts).then(function (res) {
        domView = res.view;
        domChart.setAttribute('data-run', run.meta.run_id);
        done(domChart, true);
      }, function (err) { done(domChart, false, err); });
    }

    function rows(run) {
      return {
        calls: run.calls.map(function (c) { return {start: c[0], end: c[1], tool: c[2], lane: c[3], category: c[4], command: c[5]}; }),
        cpu: run.cpu.map(function (p) { return {t: p[0], pct: p[1]}; }),
        events: run.events.map(function (e) { return {t: e[0], kind: e[1], detail: e[2], domain: e[3] || ''}; }),
        mem: run.mem.map(function (p) { return {t: p[0], mb: p[1]}; }),
        procs: run.procs.map(function (p) { return {start: p[0], end: p[1], pid: p[2], comm: p[3], argv: p[4], rss_mb: p[5]}; }),
        turns: run.turns.map(function (l) { return {start: l[0], end: l[1], model: l[2], input_tokens: l[3], output_tokens: l[4], lane: l[5] ? 'sub-agent' : 'main'}; })
      };
    }

    function show(index) {
      var run = drill.runs[index];
      if (!run) return;
      var m = run.meta;
      meta.textContent = m.run_id + '  ·  ' + m.model + '  ·  ' + m.status + (m.valid ? '' : ' (not valid)') + '  ·  ' + m.samples + ' samples' +
        (m.downsampled ? ' (min/max envelope)' : '') + '  ·  ' + run.calls.length + ' tool calls  ·  ' + run.turns.length + ' LLM turns' +
        (run.procs.length ? '  ·  ' + run.procs.length + ' processes' : '') + (run.events.length ? '  ·  ' + run.events.length + ' events' : '') +
        '  ·  CPU: ' + m.cpu_kind +
        (m.control ? '  ·  control: ' + m.control : '') +
        (m.node_memory_mb !== null && m.node_memory_mb !== undefined ? '  ·  node budget ' + mb(m.node_memory_mb) : '') +
        (m.memory_limit_mb !== null && m.memory_limit_mb !== undefined ? '  ·  agent limit ' + mb(m.memory_limit_mb) : '') +
        (run.domains && run.domains.length ? '  ·  ' + run.domains.length + ' tool calls in their own cgroup' : '');
      var spec = Object.assign({}, drill.templates[run.panels], {datasets: rows(run)});
      target.setAttribute('data-rendered', '0');
      if (view) { view.finalize(); view = null; }
      while (target.firstChild) target.removeChild(target.firstChild);
      showDomains(run);
      vegaEmbed(target, spec, opts).then(function (res) {
        view = res.view;
        target.setAttribute('data-run', m.run_id);
        done(target, true);
      }, function (err) { done(target, false, err); });
    }

    drill.runs.forEach(function (run, i) {
      var opt = document.createElement('option');
      opt.value = String(i);
      opt.textContent = run.meta.dataset + ' / ' + run.meta.task + (run.meta.valid ? '' : '  (not valid)');
      select.appendChild(opt);
    });
    select.value = String(drill.initial);
    select.addEventListener('change', function () { show(Number(select.value)); });
    var reset = document.getElementById('zoom-reset');
    if (reset) reset.addEventListener('click', function () { show(Number(select.value)); });
    show(drill.initial);
  }
})();`
