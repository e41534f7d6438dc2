/**
 * Draws the benchmark results as one SVG, by hand: four small bar charts, no dependency.
 */
import type { MemoryResult } from './memory.js';
import type { ParallelEfficiencyResult } from './parallel-efficiency.js';
import type { ServerOverheadResult } from './server-overhead.js';
import type { SideBySideResult } from './side-by-side.js';

export interface ChartInput {
  parallel?: ParallelEfficiencyResult;
  sideBySide?: SideBySideResult;
  overhead?: ServerOverheadResult;
  memory?: MemoryResult;
}

interface Bar {
  value: number;
  color: string;
  /** Printed above the bar; the value when omitted. */
  caption?: string;
  /** A second line above the caption. */
  note?: string;
}

interface BarGroup {
  label: string;
  bars: Bar[];
}

interface Panel {
  title: string;
  unit: string;
  groups: BarGroup[];
  legend: Array<{ color: string; label: string }>;
  line?: { value: number; label: string };
  /** The value axis starts here (for ratios near 1). */
  floor?: number;
}

const PANEL_WIDTH = 520;
const PANEL_HEIGHT = 300;
const COLORS = {
  blue: '#3b6fb6',
  orange: '#e0823d',
  green: '#4c9a5b',
  grey: '#8a8a8a',
  red: '#c0392b',
  purple: '#7d5ba6',
  lilac: '#b9a3d6',
};

export function renderChart(input: ChartInput): string {
  const panels = [
    parallelPanel(input.parallel),
    sideBySidePanel(input.sideBySide),
    overheadPanel(input.overhead),
    memoryPanel(input.memory),
  ];
  const width = PANEL_WIDTH * 2;
  const height = PANEL_HEIGHT * 2;
  const drawn = panels.map((panel, index) => {
    const x = (index % 2) * PANEL_WIDTH;
    const y = Math.floor(index / 2) * PANEL_HEIGHT;
    return `<g transform="translate(${x},${y})">${panel ? drawPanel(panel) : emptyPanel()}</g>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...drawn,
    '</svg>',
    '',
  ].join('\n');
}

function parallelPanel(result: ParallelEfficiencyResult | undefined): Panel | undefined {
  if (!result) return undefined;
  return {
    title: `1. Parallel efficiency: wall time / ceil(N/${result.concurrency}) x ${result.latencyMs} ms`,
    unit: 'ratio',
    floor: 0.9,
    groups: result.rows.map((row) => ({
      label: `N = ${row.images}`,
      bars: [{ value: row.ratio, color: row.met ? COLORS.blue : COLORS.red, caption: row.ratio.toFixed(3) }],
    })),
    legend: [{ color: COLORS.blue, label: 'median of runs, through the GraphQL mutation' }],
    line: { value: result.target, label: `target ${result.target}` },
  };
}

function sideBySidePanel(result: SideBySideResult | undefined): Panel | undefined {
  if (!result) return undefined;
  const calm = result.phases.find((phase) => !phase.pressure);
  const pressed = result.phases.find((phase) => phase.pressure);
  const names = [
    ['server', '(a) C=8'],
    ['server-c10', "(a') C=10"],
    ['sdk', '(b) SDK'],
    ['sequential', '(c) one by one'],
    ['plain-loop', '(d) 3-try loop'],
  ] as const;
  const groups: BarGroup[] = names.map(([client, label]) => {
    const calmRow = calm?.rows.find((row) => row.client === client);
    const pressedRow = pressed?.rows.find((row) => row.client === client);
    const bars: Bar[] = [];
    if (calmRow)
      bars.push({
        value: calmRow.medianWallMs / 1000,
        color: COLORS.blue,
        caption: `${(calmRow.medianWallMs / 1000).toFixed(2)}`,
      });
    else bars.push({ value: 0, color: COLORS.blue, caption: '' });
    if (pressedRow) {
      const delivered = Math.round(pressedRow.worstSuccessRate * result.images);
      bars.push({
        value: pressedRow.medianWallMs / 1000,
        color: pressedRow.worstSuccessRate < 1 ? COLORS.red : COLORS.orange,
        caption: (pressedRow.medianWallMs / 1000).toFixed(2),
        note: `${delivered}/${result.images}`,
      });
    }
    return { label, bars };
  });
  return {
    title: `2. ${result.images} images at ${result.latencyMs} ms: wall time (s); images delivered under 429`,
    unit: 's',
    groups,
    legend: [
      { color: COLORS.blue, label: 'no pressure' },
      { color: COLORS.orange, label: `429 when > ${pressed?.rateLimit?.maxInFlight ?? '?'} in flight` },
      { color: COLORS.red, label: 'images lost' },
    ],
    ...(pressed
      ? { line: { value: pressed.boundMs / 1000, label: `rate-limit bound ${pressed.boundMs / 1000} s` } }
      : {}),
  };
}

function overheadPanel(result: ServerOverheadResult | undefined): Panel | undefined {
  if (!result) return undefined;
  const latency = result.progress.latencyMs;
  return {
    title: `3. Progress event latency, ${result.progress.subscribers} WebSocket subscribers (ms); ${result.throughput.imagesPerSecond} images/s`,
    unit: 'ms',
    groups: [
      { label: 'p50', bars: [{ value: latency.p50, color: COLORS.green }] },
      { label: 'p90', bars: [{ value: latency.p90, color: COLORS.green }] },
      { label: 'p99', bars: [{ value: latency.p99, color: COLORS.green }] },
      { label: 'max', bars: [{ value: latency.max, color: COLORS.grey }] },
    ],
    legend: [
      {
        color: COLORS.green,
        label: `upstream answer -> subscriber callback; ${result.throughput.cpuMsPerImage} CPU ms/image`,
      },
    ],
  };
}

function memoryPanel(result: MemoryResult | undefined): Panel | undefined {
  if (!result) return undefined;
  const short: Record<string, string> = {
    'single-response': 'one answer (worst)',
    'url-fetch': 'urls + GET each',
    'subscription-per-image': 'events, 1 image each',
    'image-per-mutation': 'generateImage each',
  };
  const strategies = [...new Set(result.rows.map((row) => row.strategy))];
  const sizes = [...new Set(result.rows.map((row) => row.images))].sort((a, b) => a - b);
  const largest = sizes.at(-1) ?? result.images;
  const shades = [COLORS.lilac, COLORS.purple];
  return {
    title: `4. Peak RSS (MiB) for a batch of ~${(result.imageBytes / 1e6).toFixed(1)} MB images as data URLs`,
    unit: 'MiB',
    groups: strategies.map((strategy) => {
      const rows = result.rows.filter((row) => row.strategy === strategy);
      const bars: Bar[] = sizes.map((size, index) => {
        const row = rows.find((candidate) => candidate.images === size);
        const value = row?.server.peakRssMiB ?? 0;
        return {
          value,
          color: shades[Math.max(0, shades.length - sizes.length + index)] ?? COLORS.purple,
          caption: `${Math.round(value)}`,
        };
      });
      const client = rows.find((row) => row.images === largest);
      bars.push({
        value: client?.client.maxRssMiB ?? 0,
        color: COLORS.orange,
        caption: `${Math.round(client?.client.maxRssMiB ?? 0)}`,
      });
      return { label: short[strategy] ?? strategy, bars };
    }),
    legend: [
      ...sizes.map((size, index) => ({
        color: shades[Math.max(0, shades.length - sizes.length + index)] ?? COLORS.purple,
        label: `server, ${size} images`,
      })),
      { color: COLORS.orange, label: `client, ${largest} images` },
    ],
  };
}

function drawPanel(panel: Panel): string {
  const left = 56;
  const right = 16;
  const top = 40;
  const bottom = 72;
  const plotWidth = PANEL_WIDTH - left - right;
  const plotHeight = PANEL_HEIGHT - top - bottom;
  const floor = panel.floor ?? 0;
  const values = panel.groups.flatMap((group) => group.bars.map((bar) => bar.value));
  const highest = Math.max(...values, panel.line?.value ?? 0, floor + 1e-9);
  const ceiling = floor + niceCeiling((highest - floor) * 1.15);
  const scale = (value: number) =>
    top + plotHeight - ((Math.max(value, floor) - floor) / (ceiling - floor)) * plotHeight;
  const parts: string[] = [];
  parts.push(`<text x="${left}" y="20" font-size="13" font-weight="bold">${escapeXml(panel.title)}</text>`);
  for (let step = 0; step <= 4; step += 1) {
    const value = floor + ((ceiling - floor) * step) / 4;
    const y = scale(value);
    parts.push(`<line x1="${left}" x2="${left + plotWidth}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${left - 6}" y="${y + 4}" text-anchor="end" fill="#555">${formatTick(value)}</text>`);
  }
  parts.push(
    `<text x="12" y="${top + plotHeight / 2}" transform="rotate(-90 12 ${top + plotHeight / 2})" text-anchor="middle" fill="#555">${escapeXml(panel.unit)}</text>`,
  );
  const groupWidth = plotWidth / Math.max(1, panel.groups.length);
  panel.groups.forEach((group, groupIndex) => {
    const barWidth = Math.min(44, (groupWidth * 0.8) / Math.max(1, group.bars.length));
    const start = left + groupIndex * groupWidth + (groupWidth - barWidth * group.bars.length) / 2;
    group.bars.forEach((bar, barIndex) => {
      const x = start + barIndex * barWidth;
      const y = scale(bar.value);
      const height = top + plotHeight - y;
      parts.push(
        `<rect x="${x + 1}" y="${y}" width="${barWidth - 2}" height="${Math.max(0, height)}" fill="${bar.color}"/>`,
      );
      const caption = bar.caption ?? formatTick(bar.value);
      if (caption)
        parts.push(
          `<text x="${x + barWidth / 2}" y="${y - 4}" text-anchor="middle" font-size="9">${escapeXml(caption)}</text>`,
        );
      if (bar.note)
        parts.push(
          `<text x="${x + barWidth / 2}" y="${y - 15}" text-anchor="middle" font-size="9" fill="${bar.color}">${escapeXml(bar.note)}</text>`,
        );
    });
    parts.push(
      `<text x="${left + groupIndex * groupWidth + groupWidth / 2}" y="${top + plotHeight + 14}" text-anchor="middle">${escapeXml(group.label)}</text>`,
    );
  });
  if (panel.line) {
    const y = scale(panel.line.value);
    parts.push(
      `<line x1="${left}" x2="${left + plotWidth}" y1="${y}" y2="${y}" stroke="${COLORS.red}" stroke-dasharray="5 3"/>`,
    );
  }
  parts.push(
    `<line x1="${left}" x2="${left + plotWidth}" y1="${top + plotHeight}" y2="${top + plotHeight}" stroke="#333"/>`,
  );
  let legendX = left;
  const legendY = PANEL_HEIGHT - 30;
  for (const entry of panel.legend) {
    parts.push(`<rect x="${legendX}" y="${legendY - 9}" width="10" height="10" fill="${entry.color}"/>`);
    parts.push(`<text x="${legendX + 14}" y="${legendY}">${escapeXml(entry.label)}</text>`);
    legendX += 24 + entry.label.length * 5.6;
  }
  if (panel.line) {
    const y = legendY + 16;
    parts.push(
      `<line x1="${left}" x2="${left + 10}" y1="${y - 4}" y2="${y - 4}" stroke="${COLORS.red}" stroke-dasharray="3 2"/>`,
    );
    parts.push(`<text x="${left + 14}" y="${y}" fill="${COLORS.red}">${escapeXml(panel.line.label)}</text>`);
  }
  return parts.join('\n');
}

function emptyPanel(): string {
  return `<text x="${PANEL_WIDTH / 2}" y="${PANEL_HEIGHT / 2}" text-anchor="middle" fill="#999">not measured in this run</text>`;
}

function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.2, 1.6, 2, 2.4, 3.2, 4, 6, 8, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}

function formatTick(value: number): string {
  if (value === 0) return '0';
  if (Math.abs(value) >= 100) return String(Math.round(value));
  if (Math.abs(value) >= 10) return value.toFixed(0);
  return value.toFixed(2).replace(/\.?0+$/, '');
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
