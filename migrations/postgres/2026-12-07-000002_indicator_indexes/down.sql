DROP INDEX cases_closed;
DROP INDEX cases_close_due;
DROP INDEX cases_accepted;
