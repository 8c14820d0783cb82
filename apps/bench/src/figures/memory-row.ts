import { REGRESSION_TOLERANCE } from '../config';
import { formatNumber, type FigureRow } from '../report';

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
  /** Today's figure per item (KiB; config.ts `TODAY`), which issue 17 says must not grow by more than REGRESSION_TOLERANCE. */
  todayKiB: number;
}

/**
 * Issue 17's no-regression target for memory (figures 3 and 4): a row of a server's RSS
 * growth per idle item it holds, met when within REGRESSION_TOLERANCE above today's
 * figure, and compared with the baseline as a ratio; its note gives the RSS before →
 * after in MiB. Without a measurement the value is n/a.
 */
export function rssPerItemRow(spec: MemoryRowSpec, growth: RssGrowth | undefined): FigureRow {
  const maxKiB = spec.todayKiB * (1 + REGRESSION_TOLERANCE);
  return {
    key: spec.key,
    figure: spec.figure,
    label: spec.label,
    value: growth?.perItemKiB ?? null,
    unit: 'KiB',
    baseline: spec.baseline,
    baselineLabel: spec.baselineLabel,
    comparison: 'ratio',
    target: `≤ ${formatNumber(maxKiB)} KiB (today's ${spec.todayKiB} + ${REGRESSION_TOLERANCE * 100} %)`,
    met: growth ? growth.perItemKiB <= maxKiB : null,
    ...(growth
      ? {
          note: `${spec.server} RSS ${Math.round(growth.beforeKiB / KIB_PER_MIB)} → ${Math.round(growth.afterKiB / KIB_PER_MIB)} MiB${growth.noteSuffix ?? ''}`,
        }
      : {}),
  };
}

/**
 * Issue 17's no-regression target for a count (sessions per worker, sockets per
 * gateway): at least today's count less REGRESSION_TOLERANCE, or all that were asked
 * for when a smaller run asked for fewer.
 * @returns the least count that meets it, and the target in words.
 */
export function countFloor(today: number, asked: number): { least: number; target: string } {
  const floor = Math.ceil(today * (1 - REGRESSION_TOLERANCE));
  return asked < floor
    ? { least: asked, target: `${asked} (a smaller run than today's ${today})` }
    : { least: floor, target: `≥ ${floor} (today's ${today} − ${REGRESSION_TOLERANCE * 100} %)` };
}
