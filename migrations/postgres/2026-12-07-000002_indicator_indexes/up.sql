-- The case indicators and the monthly report find the cases a period touches by the
-- instants they count: accepted, due and closed in it. (Exports page cases by id within
-- their report time, which an index on created_at would turn into a sort per page.)
CREATE INDEX cases_accepted ON cases (accepted_at);
CREATE INDEX cases_close_due ON cases (close_due_at);
CREATE INDEX cases_closed ON cases (closed_at);
