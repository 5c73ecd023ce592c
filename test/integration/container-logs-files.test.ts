// Containers' stdout/stderr read from their json-file logs directly (`container_logs.read_from:
// files`; the suite runs as root): the shared suite.
import { containerLogsSuite } from '../helpers/container-logs-suite.ts';

containerLogsSuite('files');
