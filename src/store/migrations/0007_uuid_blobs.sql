-- 0007: uuids stored as 16 bytes. A canonical lowercase UUID text becomes
-- its 16 bytes (store/uuid.rs does the same for new rows); any other value
-- stays text. v_messages shows them as text again.
-- Never edit: add 0008_*.sql instead.
UPDATE messages SET
    uuid = CASE WHEN uuid GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]' THEN unhex(replace(uuid, '-', '')) ELSE uuid END,
    parent_uuid = CASE WHEN parent_uuid GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]' THEN unhex(replace(parent_uuid, '-', '')) ELSE parent_uuid END,
    logical_parent_uuid = CASE WHEN logical_parent_uuid GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]' THEN unhex(replace(logical_parent_uuid, '-', '')) ELSE logical_parent_uuid END;
UPDATE summaries SET leaf_uuid = CASE WHEN leaf_uuid GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]' THEN unhex(replace(leaf_uuid, '-', '')) ELSE leaf_uuid END;

-- Messages with their uuids as text (messages keeps a canonical UUID as its
-- 16 bytes).
CREATE VIEW v_messages AS
SELECT m.line_id,
       CASE WHEN typeof(m.uuid) = 'blob' AND length(m.uuid) = 16 THEN lower(substr(hex(m.uuid), 1, 8) || '-' || substr(hex(m.uuid), 9, 4)
               || '-' || substr(hex(m.uuid), 13, 4) || '-' || substr(hex(m.uuid), 17, 4) || '-' || substr(hex(m.uuid), 21))
            ELSE m.uuid END AS uuid,
       CASE WHEN typeof(m.parent_uuid) = 'blob' AND length(m.parent_uuid) = 16 THEN lower(substr(hex(m.parent_uuid), 1, 8) || '-' || substr(hex(m.parent_uuid), 9, 4)
               || '-' || substr(hex(m.parent_uuid), 13, 4) || '-' || substr(hex(m.parent_uuid), 17, 4) || '-' || substr(hex(m.parent_uuid), 21))
            ELSE m.parent_uuid END AS parent_uuid,
       CASE WHEN typeof(m.logical_parent_uuid) = 'blob' AND length(m.logical_parent_uuid) = 16 THEN lower(substr(hex(m.logical_parent_uuid), 1, 8) || '-' || substr(hex(m.logical_parent_uuid), 9, 4)
               || '-' || substr(hex(m.logical_parent_uuid), 13, 4) || '-' || substr(hex(m.logical_parent_uuid), 17, 4) || '-' || substr(hex(m.logical_parent_uuid), 21))
            ELSE m.logical_parent_uuid END AS logical_parent_uuid,
       m.session_id, m.agent_id, m.type, m.subtype, m.at,
       strftime('%Y-%m-%dT%H:%M:%fZ', m.at / 1000.0, 'unixepoch') AS at_utc,
       m.is_sidechain, m.is_meta, m.is_compact_summary, m.is_prompt, m.message_id, m.model,
       m.stop_reason, m.text_preview, m.is_api_error, m.api_error_status, m.error
FROM messages m;
