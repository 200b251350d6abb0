/** The Topology Zoo's GraphML files, read straight from the archive kept in topologies/zoo/. */
import { join } from 'node:path';
import { graphmlFiles } from '../../../onode/topology/graphml-archive.ts';

export const ZOO_ARCHIVE = join(import.meta.dirname, '../../../topologies/zoo/graphml.tar.gz');

export function zooFiles(): Map<string, string> {
  return graphmlFiles(ZOO_ARCHIVE);
}
