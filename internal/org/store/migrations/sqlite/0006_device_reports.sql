-- The state each device last sent with "An den IT-Service senden": one
-- row per device, replaced by its next report. The support code is what
-- the helpdesk is told on the phone; the portal cannot derive it (it is a
-- keyed hash of the machine id, which never leaves the device), so the
-- device sends it and it is indexed here.
CREATE TABLE device_reports(
	device_id TEXT PRIMARY KEY,
	user_name TEXT NOT NULL,
	support_code TEXT NOT NULL,
	received_at INTEGER NOT NULL,
	body BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX device_reports_code ON device_reports(support_code, received_at);
