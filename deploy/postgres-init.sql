-- The warehouse (schemas soundcharts and analytics) gets a database of its own beside
-- Dagster's; run by the postgres image on its first start only.
CREATE DATABASE warehouse;
