DROP TABLE change_log;
DROP TABLE conflicts;
DROP TABLE sync_mutations;
DROP TABLE sync_clients;
DROP TABLE photos;
DROP TABLE blobs;
DROP TABLE case_activities;
DROP TABLE cases;
