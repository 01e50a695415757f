// Language server for seed-data files: publishes the core validator's diagnostics for open seed documents.
// Each document is validated together with the other open seed documents, so duplicates across files show.
import {
  createConnection,
  DiagnosticSeverity,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  type Diagnostic as LspDiagnostic,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { parseSeedText, seedFormatForPath, type Severity } from '../src/core/seeds';
import { validateSeeds, type Diagnostic } from '../src/core/validate';

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
let nearDuplicateThreshold: number | undefined;

const lspSeverity: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

function toLsp(diagnostic: Diagnostic, uri: string): LspDiagnostic {
  return {
    range: diagnostic.range,
    severity: lspSeverity[diagnostic.severity],
    code: diagnostic.code,
    source: 'serl',
    message: diagnostic.message,
    relatedInformation: diagnostic.related?.map((related) => ({
      location: { uri: related.file ?? uri, range: related.range },
      message: related.message,
    })),
  };
}

function validateOpenDocuments(): void {
  const open = documents.all();
  const files = open.map((document) => ({
    file: document.uri,
    ...parseSeedText(document.getText(), seedFormatForPath(document.uri)),
  }));
  const results = validateSeeds(files, { nearDuplicateThreshold });
  open.forEach((document, index) => {
    const diagnostics = results[index]!.map((diagnostic) => toLsp(diagnostic, document.uri));
    void connection.sendDiagnostics({ uri: document.uri, version: document.version, diagnostics });
  });
}

connection.onInitialize((params) => {
  const threshold = (params.initializationOptions as { nearDuplicateThreshold?: unknown } | undefined)?.nearDuplicateThreshold;
  if (typeof threshold === 'number' && threshold >= 0 && threshold <= 1) nearDuplicateThreshold = threshold;
  return { capabilities: { textDocumentSync: TextDocumentSyncKind.Incremental } };
});

documents.onDidChangeContent(validateOpenDocuments);
documents.onDidClose((event) => {
  void connection.sendDiagnostics({ uri: event.document.uri, diagnostics: [] });
  validateOpenDocuments();
});

documents.listen(connection);
connection.listen();
