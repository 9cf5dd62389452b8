// Entry point of the GEN Data Hub playground: GraphiQL 5 with every asset,
// including the Monaco web workers, served from the hub's own origin.
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import '@graphiql/react/font/roboto.css';
import '@graphiql/react/font/fira-code.css';
import './page.css';
import { createFetcher } from './fetcher.js';
import { installWorkers } from './workers.js';

const DEFAULT_QUERY = `# Public catalogue: no key needed. Set "Authorization: Bearer <key>" in Headers to query as a partner.
query Catalogue {
  formations(first: 5) {
    totalCount
    edges {
      node {
        id
        title
        organisation { name }
        region { name }
      }
    }
  }
}
`;

installWorkers();

const root = document.getElementById('graphiql');
// The Go handler writes the endpoint into a data attribute, so the page
// needs no inline script and the CSP can forbid them.
const endpoint = root.dataset.endpoint || '/graphql';

createRoot(root).render(
  <GraphiQL
    fetcher={createFetcher(endpoint)}
    defaultQuery={DEFAULT_QUERY}
    isHeadersEditorEnabled
    shouldPersistHeaders
    showPersistHeadersSettings
    defaultEditorToolsVisibility="headers"
  />,
);
