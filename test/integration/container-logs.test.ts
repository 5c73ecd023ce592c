// Containers' stdout/stderr read through the Docker API (the default): the shared suite.
import { containerLogsSuite } from '../helpers/container-logs-suite.ts';

containerLogsSuite('api');
