-- Availability keeps each clinic's taken time in memory by UTC day (days since the Unix
-- epoch). A day's version moves in the same transaction as every change to an
-- appointment touching it, so a replica knows its copy of a day is current by reading the
-- version alone, and reads the day's appointments again only after a change.
-- A day without a row has version 0.
CREATE TABLE booking.schedule_days (
  clinic_id uuid NOT NULL,
  day       integer NOT NULL,
  version   bigint NOT NULL DEFAULT 1,
  PRIMARY KEY (clinic_id, day)
);

-- One statement-level trigger per kind of change (transition tables); days are bumped in
-- day order so that two transactions touching the same days cannot deadlock.
CREATE FUNCTION booking.touch_schedule_days() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  clinics uuid[] := '{}';
  spans tstzrange[] := '{}';
BEGIN
  IF TG_OP <> 'DELETE' THEN
    SELECT clinics || array_agg(clinic_id), spans || array_agg(during) INTO clinics, spans FROM changed_new;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    SELECT clinics || array_agg(clinic_id), spans || array_agg(during) INTO clinics, spans FROM changed_old;
  END IF;
  INSERT INTO booking.schedule_days AS d (clinic_id, day)
  SELECT DISTINCT r.clinic_id, g.day FROM unnest(clinics, spans) AS r(clinic_id, during),
    generate_series(floor(extract(epoch FROM lower(r.during)) / 86400)::int,
                    ceil(extract(epoch FROM upper(r.during)) / 86400)::int - 1) AS g(day)
  ORDER BY 1, 2
  ON CONFLICT (clinic_id, day) DO UPDATE SET version = d.version + 1;
  RETURN NULL;
END $$;

CREATE TRIGGER appointments_touch_days_insert AFTER INSERT ON booking.appointments
  REFERENCING NEW TABLE AS changed_new FOR EACH STATEMENT EXECUTE FUNCTION booking.touch_schedule_days();
CREATE TRIGGER appointments_touch_days_update AFTER UPDATE ON booking.appointments
  REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
  FOR EACH STATEMENT EXECUTE FUNCTION booking.touch_schedule_days();
CREATE TRIGGER appointments_touch_days_delete AFTER DELETE ON booking.appointments
  REFERENCING OLD TABLE AS changed_old FOR EACH STATEMENT EXECUTE FUNCTION booking.touch_schedule_days();
