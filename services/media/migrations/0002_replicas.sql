-- Several media replicas. Each registers itself (its address, its load, a heartbeat);
-- each call is held by one of them (its GStreamer pipeline and event hub live there),
-- chosen when the call is first used. A replica whose heartbeat is older than the TTL is
-- dead: another replica deletes its row and ends its calls as lost.
CREATE TABLE media.replicas (
  id              text PRIMARY KEY,            -- its advertise address, host:port
  volume          text NOT NULL,               -- the data volume it writes tracks to
  calls           int NOT NULL DEFAULT 0,      -- calls with media in its memory
  sessions        int NOT NULL DEFAULT 0,      -- live WHIP/WHEP sessions
  start_time      timestamptz NOT NULL DEFAULT now(),
  heartbeat_time  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE media.calls ADD COLUMN owner text;          -- replica id; NULL until first used
ALTER TABLE media.calls ADD COLUMN lost boolean NOT NULL DEFAULT false;  -- ended by its replica's death
CREATE INDEX calls_by_owner ON media.calls (owner) WHERE state <> 'ended';

-- Where a recording's tracks are (only a replica with that volume can compose it), and
-- which replica is composing it (so a dead composer's job is queued again).
ALTER TABLE media.recordings ADD COLUMN volume text;    -- NULL: written before replicas, any may compose
ALTER TABLE media.recordings ADD COLUMN composer text;

-- What the single replica before this release had in memory is given to an owner that
-- never beats, so the first replica's keeper ends those calls as lost, queues their
-- recordings (any replica may compose them: no volume) and restarts cut-short composes.
UPDATE media.calls c SET owner = 'before-replicas' WHERE state <> 'ended' AND (
  EXISTS (SELECT 1 FROM media.sessions s WHERE s.call_id = c.id AND s.end_time IS NULL) OR
  EXISTS (SELECT 1 FROM media.recordings r WHERE r.call_id = c.id AND r.state = 'recording'));
UPDATE media.recordings SET composer = 'before-replicas' WHERE state = 'composing';
