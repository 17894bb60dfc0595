// Plain SVG line charts of a figure against N, for docs/.

export interface Series {
  name: string;
  color: string;
  points: Array<[x: number, y: number]>;
  /** Drawn dashed: a reference, such as the line through the first point and the origin. */
  dashed?: boolean;
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const tickText = (value: number): string =>
  value >= 1000 ? value.toLocaleString('en-US') : Number(value.toPrecision(3)).toString();

/** What a figure would be if it grew in proportion to N from its value at the first point. */
export function proportional(points: Array<[number, number]>, name: string, color: string): Series {
  const [first] = points;
  const perUnit = first === undefined || first[0] === 0 ? 0 : first[1] / first[0];
  return { name, color, dashed: true, points: points.map(([x]) => [x, x * perUnit]) };
}

export function lineChart(chart: Chart): string {
  const [width, height, left, right, top, bottom] = [640, 400, 70, 20, 40, 50];
  const all = chart.series.flatMap((series) => series.points);
  const xs = [...new Set(all.map(([x]) => x))].sort((a, b) => a - b);
  const maxX = Math.max(...xs, 1);
  const maxY = Math.max(...all.map(([, y]) => y), 0) * 1.1 || 1;
  const x = (value: number): number => left + (value / maxX) * (width - left - right);
  const y = (value: number): number => height - bottom - (value / maxY) * (height - top - bottom);
  const line = (series: Series): string => {
    const points = series.points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ');
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
    const dots = series.dashed
      ? ''
      : series.points
          .map(
            ([px, py]) => `<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="3.5" fill="${series.color}"/>`,
          )
          .join('');
    return `<polyline fill="none" stroke="${series.color}" stroke-width="2"${dash} points="${points}"/>${dots}`;
  };
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((fraction) => {
    const value = maxY * fraction;
    return `<line x1="${left}" x2="${width - right}" y1="${y(value).toFixed(1)}" y2="${y(value).toFixed(1)}" stroke="#ddd"/><text x="${left - 8}" y="${(y(value) + 4).toFixed(1)}" text-anchor="end">${tickText(value)}</text>`;
  });
  const labels = xs.map(
    (value) =>
      `<text x="${x(value).toFixed(1)}" y="${height - bottom + 18}" text-anchor="middle">${tickText(value)}</text>`,
  );
  const legend = chart.series.map(
    (series, index) =>
      `<rect x="${left + 14}" y="${top + 4 + index * 18}" width="12" height="${series.dashed ? 3 : 12}" fill="${series.color}"/><text x="${left + 32}" y="${top + 14 + index * 18}">${escape(series.name)}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">${escape(chart.title)}</text>
${ticks.join('\n')}
<line x1="${left}" x2="${left}" y1="${top}" y2="${height - bottom}" stroke="black"/>
<line x1="${left}" x2="${width - right}" y1="${height - bottom}" y2="${height - bottom}" stroke="black"/>
${labels.join('')}
<text x="${width / 2}" y="${height - 12}" text-anchor="middle">${escape(chart.xLabel)}</text>
<text x="16" y="${height / 2}" text-anchor="middle" transform="rotate(-90 16 ${height / 2})">${escape(chart.yLabel)}</text>
${chart.series.map(line).join('\n')}
${legend.join('\n')}
</svg>
`;
}
