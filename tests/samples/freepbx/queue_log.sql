CREATE TABLE `queue_log` (
  `id` bigint(255) unsigned NOT NULL AUTO_INCREMENT,
  `time` datetime(6) DEFAULT NULL,
  `callid` varchar(80) NOT NULL DEFAULT '',
  `queuename` varchar(256) NOT NULL DEFAULT '',
  `agent` varchar(80) NOT NULL DEFAULT '',
  `event` varchar(32) NOT NULL DEFAULT '',
  `data1` varchar(100) NOT NULL DEFAULT '',
  `data2` varchar(100) NOT NULL DEFAULT '',
  `data3` varchar(100) NOT NULL DEFAULT '',
  `data4` varchar(100) NOT NULL DEFAULT '',
  `data5` varchar(100) NOT NULL DEFAULT '',
  PRIMARY KEY (`id`),
  KEY `time` (`time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
