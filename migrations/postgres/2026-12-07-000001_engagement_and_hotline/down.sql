ALTER TABLE users DROP COLUMN hotline_intake;
DROP TABLE hotline_tickets;
DROP TABLE suggestions;
DROP TABLE public_events;
DROP TABLE meetings;
