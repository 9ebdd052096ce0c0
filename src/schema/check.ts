// The schema check of one provider in one poll: its list entries and detail answers go through a
// ShapeTracker each, and the policy turns deviating answers away (reject-record) or stops the
// provider's poll (fail-provider, through `halt`). `rows` gives what the poll commits.
import type { ListVerdict } from '../providers/source.js';
import type { SchemaChangeRecord } from '../records/types.js';
import { ShapeTracker, type Deviation, type Policies } from './drift.js';
import type { ShapeBook } from './state.js';
import { isObject } from './shape.js';

export class SchemaCheck {
  private readonly list: ShapeTracker;
  private readonly detail: ShapeTracker;
  /** Why the provider's poll failed under fail-provider, once it did. */
  failure: string | null = null;

  constructor(
    readonly provider: string,
    book: ShapeBook,
    policies: Policies,
    redact: (text: string) => string,
    private readonly halt: AbortController,
  ) {
    const shape = book.of(provider);
    this.list = new ShapeTracker(provider, 'list', shape.list, policies, redact);
    this.detail = new ShapeTracker(provider, 'detail', shape.detail, policies, redact);
  }

  readonly inspectList = (entries: readonly unknown[]): ListVerdict => {
    const verdict: ListVerdict = { fail: null, reject: new Map() };
    for (const [index, entry] of entries.entries()) {
      if (!isObject(entry)) continue; // parseList rejects it, for its ID
      const deviation = this.list.add(entry);
      if (deviation?.policy === 'reject-record') verdict.reject.set(index, deviation.reason);
      else if (deviation?.policy === 'fail-provider' && verdict.fail === null) verdict.fail = this.fail(deviation);
    }
    return verdict;
  };

  /** A detail answer's JSON: null to store it as usual, else the deviation that turns it away. */
  judgeDetail(json: unknown): Deviation | null {
    if (!isObject(json) || this.failure !== null) return null;
    const deviation = this.detail.add(json);
    if (deviation?.policy === 'fail-provider') this.fail(deviation);
    return deviation;
  }

  rows(detectedAt: Date): SchemaChangeRecord[] {
    return [...this.list.changes(detectedAt), ...this.detail.changes(detectedAt)];
  }

  /** Paths past the tracking limit this poll (logged, not recorded). */
  get untracked(): number {
    return this.list.untracked + this.detail.untracked;
  }

  private fail(deviation: Deviation): string {
    this.failure ??= `${deviation.reason}: this provider's poll failed; accept the change with schema.policy set to record, or see report --section schema`;
    this.halt.abort();
    return this.failure;
  }
}
