// A small stacked-bar SVG chart (no chart library): on time / late / absent per day. Each bar
// carries a <title> for pointer users; the figure also gets a text summary for screen readers.
import { h, svg } from "./dom";
import type { DayCounts } from "./clock";

export interface ChartLabels {
  title: string;
  onTime: string;
  late: string;
  absent: string;
}

/** Widest date label in em, and the chart's font size on a phone (style.css, in viewBox units). */
const LABEL_EM = 4;
const PHONE_FONT = 18;

const COLORS = { onTime: "#15803d", late: "#b45309", absent: "#b91c1c" } as const;

export function attendanceChart(days: DayCounts[], labels: ChartLabels, lang: string): HTMLElement {
  const width = 600;
  const height = 200;
  const pad = { top: 10, right: 8, bottom: 24, left: 28 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const max = Math.max(1, ...days.map((d) => d.onTime + d.late + d.absent));
  const slot = innerW / Math.max(1, days.length);
  const barW = Math.max(2, slot * 0.7);
  // Date labels a week apart, further when the days are narrow: a label ("30 Nov", "30 nov")
  // is at most LABEL_EM em wide at the phone's larger type (style.css), so none overlap.
  const step = 7 * Math.max(1, Math.ceil((LABEL_EM * PHONE_FONT) / (7 * slot)));
  const scale = (n: number) => (n / max) * innerH;
  const fmt = (date: string) => new Date(`${date}T12:00:00`).toLocaleDateString(lang, { day: "numeric", month: "short" });

  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "chart-title chart-desc", class: "chart" });
  const totals = days.reduce((a, d) => ({ onTime: a.onTime + d.onTime, late: a.late + d.late, absent: a.absent + d.absent }), {
    onTime: 0,
    late: 0,
    absent: 0,
  });
  chart.append(
    svg("title", { id: "chart-title" }, labels.title),
    svg("desc", { id: "chart-desc" }, `${labels.onTime}: ${totals.onTime}, ${labels.late}: ${totals.late}, ${labels.absent}: ${totals.absent}`),
  );
  for (const tick of [0, max]) {
    const y = pad.top + innerH - scale(tick);
    chart.append(
      svg("line", { x1: pad.left, x2: width - pad.right, y1: y, y2: y, stroke: "#cbd5e1", "stroke-width": 1 }),
      svg("text", { x: pad.left - 4, y: y + 4, "text-anchor": "end", "font-size": 10, fill: "currentColor" }, String(tick)),
    );
  }
  days.forEach((d, i) => {
    const x = pad.left + i * slot + (slot - barW) / 2;
    let y = pad.top + innerH;
    const group = svg("g", { "data-date": d.date });
    group.append(svg("title", {}, `${fmt(d.date)} — ${labels.onTime} ${d.onTime}, ${labels.late} ${d.late}, ${labels.absent} ${d.absent}`));
    for (const key of ["onTime", "late", "absent"] as const) {
      const hgt = scale(d[key]);
      if (hgt <= 0) continue;
      y -= hgt;
      group.append(svg("rect", { x, y, width: barW, height: hgt, fill: COLORS[key] }));
    }
    chart.append(group);
    // Counted back from the last day (today), so the last label never sits beside another one.
    if ((days.length - 1 - i) % step === 0) {
      const last = i === days.length - 1;
      chart.append(
        svg(
          "text",
          { class: "date", x: last ? x + barW : x + barW / 2, y: height - 8, "text-anchor": last ? "end" : "middle", "font-size": 10, fill: "currentColor" },
          fmt(d.date),
        ),
      );
    }
  });
  const legend = h(
    "ul",
    { class: "legend" },
    (["onTime", "late", "absent"] as const).map((key) =>
      h("li", {}, h("span", { class: "swatch", style: `background:${COLORS[key]}` }), `${labels[key]} (${totals[key]})`),
    ),
  );
  return h("figure", { class: "chart-box" }, chart, h("figcaption", {}, legend));
}
