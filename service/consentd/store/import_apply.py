"""The statement that applies a staged batch of `consentd import consents` (store/importing.py):
the rows not superseded appended as events in file order, their log entries queued, the latest
per key projected."""

# A row is superseded by a newer decision for its target (or an "all" one), on record or in
# an earlier row, or by one of the same instant when it is a grant: a no at a yes's instant (CRM
# exports round their times) is kept, appended after it; a grant while the person objects, or
# under their withdrawal of everything, too (only they lift those). The rest is appended in file
# order.
APPLY = """
WITH staged AS (
    SELECT s.*, greatest(
        max(s.recorded_at) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
        (SELECT max(c.updated_at) FROM current_consents c
         WHERE c.tenant_id = $1 AND c.subject_id = s.subject_id AND (c.purpose_id, c.channel,
           c.scope) IN ((s.purpose_id, s.channel, s.scope), ('*', '*', '*'), ('*', s.channel, '*')))
    ) AS latest,
    -- The same fact again (an edited file repeated every no): the row before; the last earlier
    -- "no" of that instant in the batch (a grant or an older row between them: imported twice
    -- in one batch, once in two; probe FP); or the one on record, unless another "no" of that
    -- instant came before it in the batch (a withdrawal on record, then the file's refusal and
    -- withdrawal of that instant: the last was read as the one on record; probe FL).
    (lag(s.state) OVER w, lag(s.recorded_at) OVER w) IS NOT DISTINCT FROM (s.state, s.recorded_at)
    AS repeated,
    coalesce(array_agg(s.state) FILTER (WHERE s.state <> 'granted') OVER same, '{}') AS nos,
    EXISTS (SELECT 1 FROM current_consents c WHERE c.tenant_id = $1
        AND c.subject_id = s.subject_id AND c.state = s.state AND c.updated_at = s.recorded_at
        AND (c.purpose_id, c.channel, c.scope) = (s.purpose_id, s.channel, s.scope)) AS on_record,
    s.state = 'granted' AND (EXISTS (SELECT 1 FROM subject_blocks b WHERE b.tenant_id = $1
        AND b.subject_id = s.subject_id AND b.kind = 'objected' AND b.lifted_at IS NULL)
      -- Or under a withdrawal of everything (a STOP) with no grant of the target since (0037),
      -- or the person's own "no" (0045), on record or in an earlier row of the batch (a file's
      -- portal withdrawal then its grant: the grant was taken in one batch, not in two; CF).
      OR consentd_stop_stands($1, s.subject_id, s.purpose_id, s.channel, s.scope)
      OR coalesce(bool_or(s.state IN ('refused', 'withdrawn')
          AND s.source IN ('portal', 'banner', 'support'))
          OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), false)
    ) AS objected
    FROM import_stage s
    WINDOW w AS (PARTITION BY s.subject_id, s.purpose_id, s.channel, s.scope ORDER BY s.line),
        same AS (PARTITION BY s.subject_id, s.purpose_id, s.channel, s.scope, s.recorded_at
                 ORDER BY s.line ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
), inserted AS (
    INSERT INTO consent_events (
        tenant_id, event_id, subject_id, purpose_id, channel, scope, state, notice_id,
        notice_version, source, actor, processing_role, recorded_at, valid_until,
        evidence_reference
    )
    SELECT $1, gen_random_uuid(), subject_id, purpose_id, channel, scope, state, notice_id,
        notice_version, source, $2, $3, recorded_at, valid_until, evidence_reference
    FROM staged
    WHERE (latest IS NULL OR latest < recorded_at OR (latest = recorded_at AND state <> 'granted'))
      AND NOT (repeated OR coalesce(nos[cardinality(nos)] = state, false)
               OR (on_record AND state = ALL (nos)))
      AND NOT objected
    ORDER BY line
    RETURNING *
), queued AS (
    INSERT INTO audit_queue (tenant_id, action, recorded_at, subject_id, fact_id, payload)
    SELECT i.tenant_id, consentd_event_action(i.state), $4, i.subject_id, i.event_id,
        consentd_event_payload(i::consent_events)
    FROM inserted i ORDER BY i.sequence
), projected AS (
    -- One row per key (the batch's latest event); never over a later event already there.
    INSERT INTO current_consents AS c (
        tenant_id, subject_id, purpose_id, channel, scope, state, event_id, sequence,
        notice_version, valid_until, updated_at
    )
    SELECT DISTINCT ON (subject_id, purpose_id, channel, scope) tenant_id, subject_id,
        purpose_id, channel, scope, state, event_id, sequence, notice_version, valid_until,
        recorded_at
    FROM inserted ORDER BY subject_id, purpose_id, channel, scope, sequence DESC
    ON CONFLICT (tenant_id, subject_id, purpose_id, channel, scope) DO UPDATE SET
        state = excluded.state, event_id = excluded.event_id, sequence = excluded.sequence,
        notice_version = excluded.notice_version, valid_until = excluded.valid_until,
        updated_at = excluded.updated_at
    WHERE c.sequence < excluded.sequence
)
SELECT count(*) FROM inserted
"""
