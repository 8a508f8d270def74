ALTER TABLE users DROP COLUMN joint_office;
