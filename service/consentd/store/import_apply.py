"""The statement that applies one round of a staged batch of `consentd import consents`
(store/importing.py): the round's rows not superseded appended as events, their log entries
queued, each one projected.

A batch is applied in rounds, the k-th row of each subject in round k, each round against what
the rounds before wrote: a row meets exactly what it would have met imported alone (--batch-size
1), whatever the batch size. Decided inside one statement, rows not written still steered later
ones (a grant refused as objected raised the key's latest; a superseded portal "no" counted as
the person's objection; probe FP), and no rule written for in-batch rows kept up with them."""

# A row is superseded by a newer decision for its target (or an "all" one) on record, or by one
# of the same instant when it is a grant: a no at a yes's instant (CRM exports round their
# times) is kept, appended after it; the same fact as on record is not appended again (an edited
# file repeating every no); a grant while the person objects, or under their withdrawal of
# everything or their own "no", too (only they lift those).
APPLY = """
WITH staged AS (
    SELECT s.*, (SELECT max(c.updated_at) FROM current_consents c
         WHERE c.tenant_id = $1 AND c.subject_id = s.subject_id AND (c.purpose_id, c.channel,
           c.scope) IN ((s.purpose_id, s.channel, s.scope), ('*', '*', '*'), ('*', s.channel, '*'))
    ) AS latest,
    EXISTS (SELECT 1 FROM current_consents c WHERE c.tenant_id = $1
        AND c.subject_id = s.subject_id AND c.state = s.state AND c.updated_at = s.recorded_at
        AND (c.purpose_id, c.channel, c.scope) = (s.purpose_id, s.channel, s.scope)) AS on_record,
    s.state = 'granted' AND (EXISTS (SELECT 1 FROM subject_blocks b WHERE b.tenant_id = $1
        AND b.subject_id = s.subject_id AND b.kind = 'objected' AND b.lifted_at IS NULL)
      -- Or under a withdrawal of everything (a STOP) with no grant of the target since (0037),
      -- or the person's own "no" (0045).
      OR consentd_stop_stands($1, s.subject_id, s.purpose_id, s.channel, s.scope)
    ) AS objected
    FROM import_stage s WHERE s.round = $5
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
      AND NOT on_record AND NOT objected
    ORDER BY line
    RETURNING *
), queued AS (
    INSERT INTO audit_queue (tenant_id, action, recorded_at, subject_id, fact_id, payload)
    SELECT i.tenant_id, consentd_event_action(i.state), $4, i.subject_id, i.event_id,
        consentd_event_payload(i::consent_events)
    FROM inserted i ORDER BY i.sequence
), projected AS (
    -- One row per key (a round has one row per subject); never over a later event there.
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
