/**
 * The page's script, inlined into the report (allowed by its CSP hash). It only adds interaction to the
 * server-rendered SVG: legend toggles, metric picker, smoothing, chart tooltips and the rollout-tree viewer.
 * All text from the data goes through `textContent`, never `innerHTML`.
 */
export const reportClientScript = `(() => {
  'use strict';
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));
  const element = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  // Same rules as formatNumber in format-values.ts (the page cannot import it).
  const format = (value) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
    const magnitude = Math.abs(value);
    if (Number.isInteger(value)) return magnitude >= 1000 ? value.toLocaleString('en-US') : String(value);
    if (magnitude >= 1000) return Math.round(value).toLocaleString('en-US');
    if (magnitude >= 100) return value.toFixed(1);
    if (magnitude >= 1) return value.toFixed(2);
    return value.toPrecision(3);
  };

  // Legend: hide or show an algorithm everywhere.
  $$('.legend-item').forEach((button) => {
    button.addEventListener('click', () => {
      const hidden = document.body.classList.toggle('hide-algo-' + button.dataset.algorithmIndex);
      $$('.legend-item[data-algorithm-index="' + button.dataset.algorithmIndex + '"]').forEach((item) =>
        item.setAttribute('aria-pressed', String(!hidden)),
      );
    });
  });

  // Metric picker of the "more metrics" chart.
  const picker = $('#metric-select');
  if (picker) {
    picker.addEventListener('change', () => {
      $$('#explore-charts figure').forEach((figure) => {
        figure.hidden = figure.dataset.metric !== picker.value;
      });
    });
  }

  // Chart geometry, as the renderer wrote it into data attributes.
  const scales = (svg) => {
    const number = (name) => Number(svg.dataset[name]);
    const left = number('left');
    const top = number('top');
    const width = number('width');
    const height = number('height');
    const xMin = number('xMin');
    const xMax = number('xMax');
    const yMin = number('yMin');
    const yMax = number('yMax');
    const round = (value) => Math.round(value * 100) / 100;
    return {
      x: (step) => round(left + ((step - xMin) / (xMax - xMin)) * width),
      y: (value) => round(top + height - ((value - yMin) / (yMax - yMin)) * height),
      step: (x) => xMin + ((x - left) / width) * (xMax - xMin),
    };
  };

  // Exponential moving average, as TensorBoard smooths (the dots keep the raw means).
  const smooth = (values, weight) => {
    let last;
    return values.map((value) => (last = last === undefined ? value : last * weight + value * (1 - weight)));
  };
  const redraw = (svg, weight) => {
    const series = data.curves[svg.dataset.metric];
    if (!series) return;
    const scale = scales(svg);
    $$('.series', svg).forEach((group) => {
      const entry = series.find((candidate) => String(candidate[0]) === group.dataset.algorithmIndex);
      if (!entry) return;
      const points = entry[1];
      const steps = points.map((point) => point[0]);
      const mean = smooth(points.map((point) => point[1]), weight);
      const low = smooth(points.map((point) => point[2]), weight);
      const high = smooth(points.map((point) => point[3]), weight);
      const path = (values) => steps.map((step, index) => scale.x(step) + ',' + scale.y(values[index]));
      $('.curve', group).setAttribute('d', 'M' + path(mean).join('L'));
      const band = $('.band', group);
      if (band) band.setAttribute('d', 'M' + path(high).join('L') + 'L' + path(low).reverse().join('L') + 'Z');
    });
  };
  const smoothing = $('#smoothing');
  if (smoothing) {
    smoothing.addEventListener('input', () => {
      const weight = Number(smoothing.value);
      $('#smoothing-value').textContent = weight.toFixed(2);
      $$('svg.line-chart').forEach((svg) => redraw(svg, weight));
    });
  }

  // Tooltips: the values of every visible algorithm at the step under the mouse.
  $$('svg.line-chart').forEach((svg) => {
    const area = $('.hover-area', svg);
    const guide = $('.guide', svg);
    const figure = svg.closest('figure');
    const series = data.curves[svg.dataset.metric] || [];
    if (!area || !guide || !figure) return;
    const tip = element('div', 'tooltip');
    tip.hidden = true;
    figure.appendChild(tip);
    area.addEventListener('mousemove', (event) => {
      const scale = scales(svg);
      const box = svg.getBoundingClientRect();
      const step = scale.step(((event.clientX - box.left) * svg.viewBox.baseVal.width) / box.width);
      let nearest;
      for (const entry of series) {
        for (const point of entry[1]) {
          if (nearest === undefined || Math.abs(point[0] - step) < Math.abs(nearest - step)) nearest = point[0];
        }
      }
      if (nearest === undefined) return;
      guide.setAttribute('x1', String(scale.x(nearest)));
      guide.setAttribute('x2', String(scale.x(nearest)));
      guide.setAttribute('visibility', 'visible');
      tip.replaceChildren(element('div', 'tip-title', 'step ' + nearest));
      for (const entry of series) {
        if (document.body.classList.contains('hide-algo-' + entry[0])) continue;
        const point = entry[1].find((candidate) => candidate[0] === nearest);
        if (!point) continue;
        const row = element('div', 'row algo-' + entry[0]);
        const name = element('span');
        name.append(element('i', 'swatch'), document.createTextNode(' ' + data.algorithms[entry[0]].name));
        const value = element('span', null, format(point[1]));
        if (point[3] > point[2]) value.append(element('span', 'range', ' ' + format(point[2]) + '–' + format(point[3])));
        row.append(name, value);
        tip.append(row);
      }
      tip.hidden = false;
      const frame = figure.getBoundingClientRect();
      let left = event.clientX - frame.left + 14;
      if (left + tip.offsetWidth > frame.width) left = event.clientX - frame.left - tip.offsetWidth - 14;
      tip.style.left = Math.max(0, left) + 'px';
      tip.style.top = event.clientY - frame.top + 12 + 'px';
    });
    area.addEventListener('mouseleave', () => {
      tip.hidden = true;
      guide.setAttribute('visibility', 'hidden');
    });
  });

  // Rollout-tree viewer.
  const viewer = $('#tree-viewer');
  if (!viewer) return;
  const view = $('#trajectory-view', viewer);
  const select = (elements, predicate) =>
    elements.forEach((item) => item.setAttribute('aria-selected', String(predicate(item))));

  const openTrajectory = (algorithmIndex, treeIndex, trajectoryIndex) => {
    const tree = data.trees[algorithmIndex] && data.trees[algorithmIndex][treeIndex];
    const trajectory = tree && tree.trajectories[trajectoryIndex];
    if (!trajectory) return;
    const pane = $('.tree-pane[data-algorithm-index="' + algorithmIndex + '"][data-tree-index="' + treeIndex + '"]', viewer);
    const path = tree.nodes.filter((node) => node.trajectoryIndices.includes(trajectoryIndex));
    const onPath = new Set(path.map((node) => String(node.id)));
    $$('.tree-leaf', pane).forEach((leaf) =>
      leaf.classList.toggle('selected', leaf.dataset.trajectoryIndex === String(trajectoryIndex)),
    );
    $$('.span', pane).forEach((span) => {
      const owner = span.closest('[data-node-id]');
      span.classList.toggle('on-path', !!owner && onPath.has(owner.dataset.nodeId));
    });

    view.className = 'trajectory algo-' + algorithmIndex;
    view.dataset.algorithmIndex = String(algorithmIndex);
    view.dataset.treeIndex = String(treeIndex);
    view.dataset.trajectoryIndex = String(trajectoryIndex);
    const heading = element('h3', null, 'Trajectory ' + (trajectoryIndex + 1) + ' of ' + tree.trajectories.length);
    const facts = element('div', 'facts');
    const forks = path.filter((node) => node.fork && node.children.length > 0).length;
    [
      'reward ' + (trajectory.reward === undefined ? '–' : format(trajectory.reward)),
      trajectory.toolCalls + ' tool call' + (trajectory.toolCalls === 1 ? '' : 's'),
      trajectory.responseTokens + ' tokens',
      'finish: ' + trajectory.finishReason,
      forks + ' branch point' + (forks === 1 ? '' : 's') + ' on its path',
      'id ' + trajectory.id,
    ].forEach((fact) => facts.append(element('span', 'fact', fact)));
    const parts = [heading, facts];
    if (tree.prompt) {
      const prompt = element('details');
      prompt.append(element('summary', null, 'Prompt'), element('pre', 'prompt', tree.prompt));
      parts.push(prompt);
    }
    const transcript = element('pre', 'transcript');
    const spans = path.filter((node) => node.end > node.start);
    if (spans.length > 0 && spans.every((node) => typeof node.text === 'string')) {
      for (const node of path) {
        if (node.end > node.start) {
          const segment = element('span', 'segment' + (node.trajectoryIndices.length > 1 ? ' shared' : '') + (node.toolShare > 0 ? ' tool' : ''), node.text);
          segment.title =
            'tokens ' + node.start + '–' + node.end + ' · shared by ' + node.trajectoryIndices.length +
            ' trajectories' + (node.toolShare > 0 ? ' · ' + Math.round(node.toolShare * 100) + '% tool output' : '');
          transcript.append(segment);
        }
        if (node.fork && node.children.length > 0 && node.children.some((child) => onPath.has(String(child)))) {
          transcript.append(element('span', 'fork-point', 'branch · H ' + format(node.fork.entropy)));
        }
      }
    } else if (typeof trajectory.text === 'string') {
      transcript.textContent = trajectory.text;
    } else {
      transcript.textContent = '(no text in this report: pass the tokenizer to rolloutGroupToJson)';
    }
    parts.push(transcript);
    view.replaceChildren(...parts);
  };

  const bestLeaf = (algorithmIndex, treeIndex) => {
    const tree = data.trees[algorithmIndex][treeIndex];
    let best = 0;
    tree.trajectories.forEach((trajectory, index) => {
      const current = tree.trajectories[best].reward;
      if (trajectory.reward !== undefined && (current === undefined || trajectory.reward > current)) best = index;
    });
    return best;
  };

  const showTree = (algorithmIndex, treeIndex) => {
    select($$('.tree-chip', viewer), (chip) =>
      chip.dataset.algorithmIndex === String(algorithmIndex) && chip.dataset.treeIndex === String(treeIndex));
    $$('.tree-pane', viewer).forEach((pane) => {
      pane.hidden = !(pane.dataset.algorithmIndex === String(algorithmIndex) && pane.dataset.treeIndex === String(treeIndex));
    });
    const trees = data.trees[algorithmIndex] || [];
    if (trees[treeIndex] && trees[treeIndex].trajectories.length > 0) {
      openTrajectory(algorithmIndex, treeIndex, bestLeaf(algorithmIndex, treeIndex));
    } else {
      view.className = 'trajectory';
      view.replaceChildren(element('p', 'placeholder', 'No rollout trees were recorded for this algorithm.'));
    }
  };

  const showAlgorithm = (algorithmIndex) => {
    select($$('.tab', viewer), (tab) => tab.dataset.algorithmIndex === String(algorithmIndex));
    $$('.tree-list', viewer).forEach((list) => {
      list.hidden = list.dataset.algorithmIndex !== String(algorithmIndex);
    });
    showTree(algorithmIndex, 0);
  };

  viewer.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const tab = target.closest('.tab');
    if (tab) return showAlgorithm(Number(tab.dataset.algorithmIndex));
    const chip = target.closest('.tree-chip');
    if (chip) return showTree(Number(chip.dataset.algorithmIndex), Number(chip.dataset.treeIndex));
    const leaf = target.closest('.tree-leaf');
    if (leaf) {
      const svg = leaf.closest('svg');
      openTrajectory(Number(svg.dataset.algorithmIndex), Number(svg.dataset.treeIndex), Number(leaf.dataset.trajectoryIndex));
    }
  });
  viewer.addEventListener('keydown', (event) => {
    const target = event.target instanceof Element ? event.target.closest('.tree-leaf') : null;
    if (!target || (event.key !== 'Enter' && event.key !== ' ')) return;
    event.preventDefault();
    target.dispatchEvent(new MouseEvent('click', { bubbles: true }));
  });
  showAlgorithm(0);
})();
`;
