/**
 * The built-in catalogue of no-public-databases: which ports, images and product names mark a
 * database. A bundle extends these lists (or replaces them with `useDefaults: false`).
 */

/** A default database port and the product listening on it, for messages. */
export interface DatabasePort {
  readonly port: number;
  readonly product: string;
}

const portGroups: ReadonlyArray<readonly [string, readonly number[]]> = [
  ['PostgreSQL', [5432]],
  ['PgBouncer', [6432]],
  ['Redis', [6379]],
  ['Redis Sentinel', [26379]],
  ['Redis Cluster bus', [16379]],
  ['MySQL/MariaDB', [3306]],
  ['MySQL X protocol', [33060]],
  ['MongoDB', [27017, 27018, 27019]],
  ['Microsoft SQL Server', [1433]],
  ['Oracle', [1521]],
  ['Cassandra', [9042]],
  ['Elasticsearch', [9200, 9300]],
  ['CouchDB', [5984]],
  ['etcd', [2379]],
  ['Memcached', [11211]],
  ['ClickHouse', [8123, 9000]],
  ['Neo4j', [7687]],
  ['InfluxDB', [8086]],
];

/** Default database ports (POLICIES.md's list). */
export const defaultPorts: readonly DatabasePort[] = Object.freeze(
  portGroups.flatMap(([product, ports]) => ports.map((port) => Object.freeze({ port, product }))),
);

/**
 * Default database image repositories, as prefixes compared on the normalized reference
 * (host exact, path on `/` boundaries). A prefix without a host is a Docker Hub path.
 */
export const defaultImages: readonly string[] = Object.freeze([
  // Docker official images
  'docker.io/library/postgres',
  'docker.io/library/redis',
  'docker.io/library/mysql',
  'docker.io/library/mariadb',
  'docker.io/library/mongo',
  'docker.io/library/memcached',
  'docker.io/library/cassandra',
  'docker.io/library/couchdb',
  'docker.io/library/elasticsearch',
  'docker.io/library/influxdb',
  'docker.io/library/neo4j',
  'docker.io/library/percona',
  'docker.io/library/clickhouse',
  'docker.io/library/arangodb',
  // Bitnami
  'docker.io/bitnami/postgresql',
  'docker.io/bitnami/postgresql-repmgr',
  'docker.io/bitnami/pgbouncer',
  'docker.io/bitnami/redis',
  'docker.io/bitnami/redis-cluster',
  'docker.io/bitnami/redis-sentinel',
  'docker.io/bitnami/valkey',
  'docker.io/bitnami/valkey-cluster',
  'docker.io/bitnami/mysql',
  'docker.io/bitnami/mariadb',
  'docker.io/bitnami/mariadb-galera',
  'docker.io/bitnami/mongodb',
  'docker.io/bitnami/mongodb-sharded',
  'docker.io/bitnami/memcached',
  'docker.io/bitnami/cassandra',
  'docker.io/bitnami/elasticsearch',
  'docker.io/bitnami/etcd',
  'docker.io/bitnami/clickhouse',
  'docker.io/bitnami/influxdb',
  'docker.io/bitnami/couchdb',
  // Operators and vendors
  'ghcr.io/cloudnative-pg/postgresql',
  'ghcr.io/cloudnative-pg/postgis',
  'ghcr.io/cloudnative-pg/pgbouncer',
  'ghcr.io/zalando/spilo-15',
  'ghcr.io/zalando/spilo-16',
  'ghcr.io/zalando/spilo-17',
  'registry.opensource.zalan.do/acid/spilo-15',
  'registry.opensource.zalan.do/acid/spilo-16',
  'docker.io/postgis/postgis',
  'docker.io/timescale/timescaledb',
  'docker.io/timescale/timescaledb-ha',
  'docker.io/pgvector/pgvector',
  'docker.io/edoburu/pgbouncer',
  'docker.io/valkey/valkey',
  'docker.io/redis/redis-stack',
  'docker.io/redis/redis-stack-server',
  'docker.io/eqalpha/keydb',
  'docker.dragonflydb.io/dragonflydb/dragonfly',
  'mcr.microsoft.com/mssql/server',
  'container-registry.oracle.com/database',
  'docker.io/gvenzl/oracle-xe',
  'docker.io/gvenzl/oracle-free',
  'docker.io/mongodb/mongodb-community-server',
  'docker.io/mongodb/mongodb-enterprise-server',
  'docker.io/percona/percona-server-mongodb',
  'docker.io/percona/percona-server',
  'docker.io/percona/percona-xtradb-cluster',
  'docker.io/clickhouse/clickhouse-server',
  'docker.elastic.co/elasticsearch/elasticsearch',
  'docker.io/opensearchproject/opensearch',
  'docker.io/scylladb/scylla',
  'docker.io/cockroachdb/cockroach',
  'quay.io/coreos/etcd',
  'gcr.io/etcd-development/etcd',
  'registry.k8s.io/etcd',
]);

/**
 * Default database product names. They are matched against `app.kubernetes.io/name` label
 * values, Service port names and named target ports (also with a `tcp-` prefix, as Bitnami
 * charts name them), and the last path component of image repositories (so a mirrored
 * `registry.corp.example/erp/postgres` still counts).
 */
export const defaultNames: readonly string[] = Object.freeze([
  'postgresql',
  'postgres',
  'pgbouncer',
  'postgis',
  'timescaledb',
  'redis',
  'redis-sentinel',
  'redis-cluster',
  'valkey',
  'keydb',
  'dragonfly',
  'mysql',
  'mariadb',
  'mariadb-galera',
  'percona-xtradb-cluster',
  'mongodb',
  'mongo',
  'mssql',
  'sqlserver',
  'oracle-db',
  'cassandra',
  'scylla',
  'elasticsearch',
  'opensearch',
  'couchdb',
  'etcd',
  'memcached',
  'clickhouse',
  'clickhouse-server',
  'neo4j',
  'influxdb',
  'cockroachdb',
  'cockroach',
  'arangodb',
]);
