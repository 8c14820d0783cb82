import type { FigureRow } from '../report';

/** KiB in a MiB: the notes give RSS in MiB, the rows per item in KiB. */
const KIB_PER_MIB = 1024;

/** How much a server's RSS grew while it took on idle items (sessions, sockets). */
export interface RssGrowth {
  /** Growth per item held (KiB). */
  perItemKiB: number;
  /** RSS before the first item (KiB). */
  beforeKiB: number;
  /** RSS with every item held, once settled (KiB). */
  afterKiB: number;
  /** Appended to the note, e.g. ` for 1000 sessions; 1000 shells`. */
  noteSuffix?: string;
}

/** The fixed part of a memory row: what it is called and what it is held against. */
export interface MemoryRowSpec {
  key: string;
  figure: number;
  label: string;
  /** Whose RSS it is, as the note names it (`worker`, `gateway`). */
  server: string;
  /** The baseline's figure in the same unit (KiB per item), or null when there is none. */
  baseline: number | null;
  baselineLabel: string;
  /** Issue 8's ceiling per item (KiB). */
  maxKiB: number;
}

/**
 * Issue 8's memory ceilings (figures 3 and 4): a row of a server's RSS growth per idle item
 * it holds, met when at most `spec.maxKiB` and compared with the baseline as a ratio; its
 * note gives the RSS before → after in MiB. Without a measurement the value is n/a.
 */
export function rssPerItemRow(spec: MemoryRowSpec, growth: RssGrowth | undefined): FigureRow {
  return {
    key: spec.key,
    figure: spec.figure,
    label: spec.label,
    value: growth?.perItemKiB ?? null,
    unit: 'KiB',
    baseline: spec.baseline,
    baselineLabel: spec.baselineLabel,
    comparison: 'ratio',
    target: `≤ ${spec.maxKiB} KiB`,
    met: growth ? growth.perItemKiB <= spec.maxKiB : null,
    ...(growth
      ? {
          note: `${spec.server} RSS ${Math.round(growth.beforeKiB / KIB_PER_MIB)} → ${Math.round(growth.afterKiB / KIB_PER_MIB)} MiB${growth.noteSuffix ?? ''}`,
        }
      : {}),
  };
}
