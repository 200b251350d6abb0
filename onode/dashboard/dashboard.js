// The overlay dashboard's page script: draws the bootstrapper's state (GET /feed, Server-Sent
// Events; the JSON is DashboardState in common/wire/dashboard-api.ts) with cytoscape. Plain
// browser JavaScript, served as is: no build step, no CDN.
(() => {
  'use strict';

  /** Tree colours, one per movie (in the order the state lists movies). */
  const PALETTE = ['#e53935', '#43a047', '#1e88e5', '#fb8c00', '#8e24aa', '#00897b', '#6d4c41', '#d81b60'];
  /** Events shown in the timeline (the newest). */
  const SHOWN_EVENTS = 200;

  const ui = {
    status: document.getElementById('status'),
    movie: document.getElementById('movie'),
    server: document.getElementById('server'),
    events: document.getElementById('events'),
    viewers: document.querySelector('#viewers tbody'),
    treeKey: document.getElementById('tree-key'),
  };

  const cy = cytoscape({
    container: document.getElementById('graph'),
    wheelSensitivity: 0.3,
    style: [
      {
        selector: 'node',
        style: {
          label: 'data(label)',
          'font-size': 11,
          'text-valign': 'bottom',
          'text-margin-y': 3,
          width: 26,
          height: 26,
          'background-color': '#78909c',
        },
      },
      { selector: 'node.server', style: { 'background-color': '#1565c0', shape: 'round-rectangle' } },
      { selector: 'node.pop', style: { 'background-color': '#6a1b9a', shape: 'diamond' } },
      { selector: 'node.bootstrapper', style: { 'border-width': 3, 'border-color': '#263238' } },
      { selector: 'node.down', style: { 'background-opacity': 0.25, 'border-width': 2, 'border-color': '#c62828' } },
      {
        selector: 'node.viewer',
        style: { 'background-color': '#ffb300', width: 12, height: 12, 'font-size': 8, label: 'data(label)' },
      },
      {
        selector: 'edge.link',
        style: {
          width: 2,
          'line-color': '#b0bec5',
          label: 'data(label)',
          'font-size': 8,
          color: '#555',
          'text-rotation': 'autorotate',
          'text-background-color': '#fff',
          'text-background-opacity': 0.8,
        },
      },
      { selector: 'edge.link.dead', style: { 'line-color': '#c62828', 'line-style': 'dashed' } },
      { selector: 'edge.link.cut', style: { 'line-color': '#ef6c00', 'line-style': 'dotted', width: 3 } },
      { selector: 'edge.attach', style: { width: 1, 'line-color': '#ffe082' } },
      {
        selector: 'edge.tree',
        style: {
          width: 4,
          'line-color': 'data(colour)',
          'target-arrow-color': 'data(colour)',
          'target-arrow-shape': 'triangle',
          'curve-style': 'bezier',
          opacity: 0.85,
        },
      },
      { selector: '.flash', style: { 'overlay-color': '#ffeb3b', 'overlay-opacity': 0.6, 'overlay-padding': 6 } },
    ],
  });

  let state = null;
  let selectedEvent = null;
  /** Node names the layout was last run for: it runs again only when nodes come or go. */
  let laidOut = '';

  function colourOf(movie) {
    const i = state ? state.movies.findIndex((m) => m.movie === movie) : -1;
    return PALETTE[(i < 0 ? 0 : i) % PALETTE.length];
  }

  function selectedMovies() {
    if (state === null) return [];
    const pick = ui.movie.value;
    return state.movies.filter((m) => pick === '*' || m.movie === pick);
  }

  /** The graph's wanted elements for the current state and movie choice. */
  function elements() {
    const els = [];
    for (const n of state.nodes) {
      const classes = [n.role, n.registered ? 'up' : 'down', n.bootstrapper ? 'bootstrapper' : ''].join(' ');
      els.push({ group: 'nodes', data: { id: n.name, label: n.name, role: n.role }, classes });
    }
    for (const l of state.links) {
      const rtt = l.rttMs === null ? '–' : `${l.rttMs.toFixed(1)} ms`;
      const label = l.kbps > 0 ? `${rtt} · ${l.kbps} kbit/s` : rtt;
      const classes = ['link', l.alive ? 'alive' : 'dead', l.cut ? 'cut' : ''].join(' ');
      els.push({ group: 'edges', data: { id: linkId(l.a, l.b), source: l.a, target: l.b, label }, classes });
    }
    for (const v of state.viewers) {
      if (v.state === 'gone') continue;
      const id = `viewer:${v.id}`;
      els.push({ group: 'nodes', data: { id, label: v.client.split(':')[0], pop: v.pop }, classes: 'viewer' });
      els.push({ group: 'edges', data: { id: `attach:${v.id}`, source: v.pop, target: id }, classes: 'attach' });
    }
    const known = new Set(state.nodes.map((n) => n.name));
    for (const t of selectedMovies()) {
      for (const e of t.edges) {
        if (!known.has(e.from) || !known.has(e.to)) continue;
        els.push({
          group: 'edges',
          data: {
            id: treeId(t.movie, e.from, e.to),
            source: e.from,
            target: e.to,
            movie: t.movie,
            colour: colourOf(t.movie),
          },
          classes: 'tree',
        });
      }
    }
    return els;
  }

  /** Brings the graph to the wanted elements, keeping positions of what stays. */
  function drawGraph() {
    const wanted = elements();
    const ids = new Set(wanted.map((e) => e.data.id));
    let added = false;
    cy.batch(() => {
      cy.elements().forEach((el) => {
        if (!ids.has(el.id())) el.remove();
      });
      for (const e of wanted) {
        const el = cy.getElementById(e.data.id);
        if (el.empty()) {
          const fresh = cy.add(e);
          if (e.classes === 'viewer') {
            added = true;
            const pop = cy.getElementById(e.data.pop).position();
            fresh.position({ x: pop.x + 30 + Math.random() * 30, y: pop.y + 30 + Math.random() * 30 });
          }
        } else {
          el.data(e.data);
          el.classes(e.classes);
        }
      }
    });
    const names = state.nodes.map((n) => n.name).join(',');
    if (names !== laidOut) {
      laidOut = names;
      cy.layout({ name: 'cose', animate: false, randomize: false, nodeRepulsion: 9000, idealEdgeLength: 90 }).run();
      added = true;
    }
    // Zoom to everything only when something new appears, not under the user's feet on every update.
    if (added) cy.fit(undefined, 30);
  }

  function drawMoviePicker() {
    const have = new Set([...ui.movie.options].map((o) => o.value));
    for (const m of state.movies) {
      if (have.has(m.movie)) continue;
      const o = document.createElement('option');
      o.value = m.movie;
      o.textContent = m.movie;
      ui.movie.append(o);
    }
    const shown = selectedMovies();
    ui.server.textContent = shown.map((t) => `${t.movie} from ${t.server ?? '?'}`).join(' · ');
    ui.treeKey.replaceChildren(
      ...shown.map((t) => {
        const s = document.createElement('span');
        s.className = 'key';
        s.style.color = colourOf(t.movie);
        s.textContent = `▶ ${t.movie}`;
        return s;
      }),
    );
  }

  function cell(text, numeric) {
    const td = document.createElement('td');
    td.textContent = text === null || text === undefined ? '–' : String(text);
    if (numeric) td.className = 'num';
    return td;
  }

  function drawViewers() {
    const rows = state.viewers.map((v) => {
      const tr = document.createElement('tr');
      tr.dataset.viewer = v.id;
      tr.dataset.pop = v.pop;
      tr.className = v.state;
      const round = (x) => (x === null ? null : Math.round(x));
      tr.append(
        cell(v.pop),
        cell(v.id),
        cell(v.movie),
        cell(v.player),
        cell(v.state),
        cell(round(v.startupMs), true),
        cell(v.fps === null ? null : v.fps.toFixed(1), true),
        cell(round(v.bitrateKbps), true),
        cell(v.framesLost, true),
        cell(round(v.longestStallMs), true),
        cell(v.failovers, true),
      );
      return tr;
    });
    ui.viewers.replaceChildren(...rows);
  }

  /** hh:mm:ss.t in the browser's time zone. */
  function clock(ms) {
    const d = new Date(ms);
    const two = (n) => String(n).padStart(2, '0');
    const tenths = Math.floor(d.getMilliseconds() / 100);
    return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${tenths}`;
  }

  function describe(e) {
    const parts = [e.node];
    if (e.kind === 'reroute' || e.kind === 'switch') parts.push(`${e.movie}: ${e.from ?? '–'} → ${e.to ?? '–'}`);
    else if (e.peer !== undefined) parts.push(`${e.movie ? `${e.movie} ` : ''}${e.peer}`);
    else if (e.movie !== undefined) parts.push(e.movie);
    if (e.count !== undefined && e.count > 1) parts.push(`×${e.count}`);
    return parts.join(' ');
  }

  function drawEvents() {
    const items = state.events
      .slice(-SHOWN_EVENTS)
      .reverse()
      .map((e) => {
        const li = document.createElement('li');
        li.dataset.id = String(e.id);
        li.dataset.kind = e.kind;
        li.dataset.node = e.node;
        if (selectedEvent !== null && selectedEvent.id === e.id) li.classList.add('selected');
        const time = document.createElement('time');
        time.textContent = clock(e.at);
        const kind = document.createElement('span');
        kind.className = `kind kind-${e.kind}`;
        kind.textContent = e.kind;
        li.append(time, kind, ` ${describe(e)}`);
        li.addEventListener('click', () => showEvent(e));
        return li;
      });
    ui.events.replaceChildren(...items);
  }

  /** Shows an event on the graph: its node, the peer or the link, and the movie's tree. */
  function showEvent(e) {
    selectedEvent = e;
    if (e.movie !== undefined && [...ui.movie.options].some((o) => o.value === e.movie)) ui.movie.value = e.movie;
    render();
    const lit = cy.elements('.flash');
    if (lit.nonempty()) cy.animate({ center: { eles: lit }, duration: 200 });
  }

  /** Marks the selected event's node, its peer or old and new upstream, and the links to them. */
  function flashEvent() {
    cy.elements().removeClass('flash');
    const e = selectedEvent;
    if (e === null) return;
    const lit = cy.collection().merge(cy.getElementById(e.node));
    for (const other of [e.peer, e.from, e.to]) {
      if (typeof other !== 'string') continue;
      lit.merge(cy.getElementById(other)).merge(cy.getElementById(linkId(e.node, other)));
    }
    lit.addClass('flash');
  }

  function render() {
    if (state === null) return;
    drawGraph();
    flashEvent();
    drawMoviePicker();
    drawViewers();
    drawEvents();
  }

  function linkId(a, b) {
    return a < b ? `link:${a}:${b}` : `link:${b}:${a}`;
  }

  function treeId(movie, from, to) {
    return `tree:${movie}:${from}:${to}`;
  }

  ui.movie.addEventListener('change', render);

  function connect() {
    const feed = new EventSource('/feed');
    feed.addEventListener('state', (msg) => {
      state = JSON.parse(msg.data);
      ui.status.textContent = `live · ${clock(state.at)}`;
      ui.status.className = 'status live';
      render();
    });
    feed.addEventListener('error', () => {
      ui.status.textContent = 'reconnecting…';
      ui.status.className = 'status lost';
    });
  }

  /** For tests and the browser console: the state shown and the tree edges drawn. */
  window.dashboard = {
    cy,
    get state() {
      return state;
    },
    treeEdges: () =>
      cy
        .edges('.tree')
        .map((e) => `${e.data('movie')}:${e.data('source')}>${e.data('target')}`)
        .sort(),
    selectMovie: (movie) => {
      ui.movie.value = movie;
      render();
    },
  };

  connect();
})();
