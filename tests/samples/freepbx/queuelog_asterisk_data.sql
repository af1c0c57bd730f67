CREATE TABLE `queuelog` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `time` char(26) DEFAULT NULL,
  `callid` varchar(80) NOT NULL DEFAULT '',
  `queuename` varchar(80) NOT NULL DEFAULT '',
  `agent` varchar(80) NOT NULL DEFAULT '',
  `event` varchar(32) NOT NULL DEFAULT '',
  `data` varchar(255) NOT NULL DEFAULT '',
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
