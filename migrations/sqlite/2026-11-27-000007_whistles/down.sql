DROP TABLE whistle_cases;
DROP TABLE whistles;
ALTER TABLE communities DROP COLUMN whistle_take_minutes;
ALTER TABLE communities DROP COLUMN whistle_sign_off;
ALTER TABLE communities DROP COLUMN lead_user_id;
