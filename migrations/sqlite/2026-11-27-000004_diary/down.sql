DROP TABLE diary_comments;
DROP TABLE diary_entries;
