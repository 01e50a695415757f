// Language server for seed-data files and run configs: wiring of the LSP connection to the document model
// (seedDocument.ts), the workspace-wide duplicate state (workspace.ts, duplicates.ts), the providers and the
// run-config validator. Computation happens as each edit arrives, on the lines it touched; publishing is
// debounced so that a burst of keystrokes sends one set of diagnostics. A large near-duplicate join (opening
// a big file, a rebuild) runs in worker threads: every other finding is published first, the near
// duplicates when the join is in. Its answer links entries, not lines, and edits made meanwhile are applied
// on top of it, so what is published is always computed from the document's current version.
import {
  CodeActionKind,
  createConnection,
  DiagnosticSeverity,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  ProposedFeatures,
  TextDocumentSyncKind,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type InitializeParams,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { describeIssues } from '../src/core/schema';
import { seedFormatForPath, type Severity } from '../src/core/seeds';
import { DEFAULT_NEAR_DUPLICATE_THRESHOLD, type Diagnostic } from '../src/core/validate';
import {
  DEFAULT_SEED_FILE_GLOBS,
  SeedServerSettingsSchema,
  SeedSummaryParamsSchema,
  SeedSummaryRequest,
  type SeedServerSettings,
  type SeedSummary,
} from '../src/protocol/seedServer';
import { FIX_ALL_KIND, seedCodeActions } from './codeActions';
import { seedCompletions, seedHover, seedSymbols } from './providers';
import { isRunConfigPath, validateRunConfig } from './runConfig';
import { SeedDocument } from './seedDocument';
import { nearJoinRunner } from './nearJoin';
import { findSeedFiles, matchesSeedGlobs, pathToUri, readSeedFile, relativeToFolders, uriToPath } from './workspaceFiles';
import { SeedWorkspace } from './workspace';

const DEFAULT_PUBLISH_DEBOUNCE_MS = 50;
/** Slice of event-loop time the background index fill takes at a time. */
const INDEX_FILL_SLICE_MS = 10;

const lspSeverity: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

function toLsp(diagnostic: Diagnostic, uri: string): LspDiagnostic {
  const result: LspDiagnostic = {
    range: diagnostic.range,
    severity: lspSeverity[diagnostic.severity],
    code: diagnostic.code,
    source: 'serl',
    message: diagnostic.message,
  };
  if (diagnostic.related !== undefined) {
    result.relatedInformation = diagnostic.related.map((related) => ({ location: { uri: related.file ?? uri, range: related.range }, message: related.message }));
  }
  return result;
}

export class SeedLanguageServer {
  private readonly workspace: SeedWorkspace;
  /** URIs the client has open (seed files); the others in the workspace were read from disk. */
  private readonly open = new Set<string>();
  private readonly configs = new Map<string, TextDocument>();
  private folders: string[] = [];
  private globs = DEFAULT_SEED_FILE_GLOBS;
  private debounceMs = DEFAULT_PUBLISH_DEBOUNCE_MS;
  private scanWorkspace = true;
  private scanComplete = false;
  private canWatchFiles = false;
  private canPullConfiguration = false;
  private readonly pending = new Set<SeedDocument>();
  private publishTimer: NodeJS.Timeout | undefined;
  private publishing = false;
  private afterPublished: (() => void)[] = [];
  private fillTimer: NodeJS.Immediate | undefined;

  constructor(private readonly connection: Connection) {
    this.workspace = new SeedWorkspace(DEFAULT_NEAR_DUPLICATE_THRESHOLD, {
      runJoin: nearJoinRunner({ prestart: true }),
      startJoin: (start) => this.afterPublication(start),
      onJoinComplete: (affected) => {
        this.schedulePublish(affected);
        this.fillIndexInBackground();
      },
      onJoinError: (error) => this.connection.console.error(`serl: the near-duplicate worker failed (${(error as Error).message}); joining in the server instead`),
    });
    connection.onInitialize((params) => this.initialize(params));
    connection.onInitialized(() => void this.guard('initialized', () => this.initialized()));
    connection.onDidOpenTextDocument(({ textDocument }) => this.guard('didOpen', () => this.didOpen(textDocument.uri, textDocument.text, textDocument.version)));
    connection.onDidChangeTextDocument(({ textDocument, contentChanges }) => this.guard('didChange', () => this.didChange(textDocument.uri, contentChanges, textDocument.version)));
    connection.onDidCloseTextDocument(({ textDocument }) => void this.guard('didClose', () => this.didClose(textDocument.uri)));
    connection.onDidChangeWatchedFiles(({ changes }) => void this.guard('didChangeWatchedFiles', () => this.filesChanged(changes)));
    connection.onDidChangeConfiguration(({ settings }) => void this.guard('didChangeConfiguration', () => this.configurationChanged(settings)));
    connection.onCodeAction((params) => this.withSeedDocument(params.textDocument.uri, (doc) => seedCodeActions(this.workspace, doc, params), []));
    connection.onHover((params) => this.withSeedDocument(params.textDocument.uri, (doc) => seedHover(this.workspace, doc, params.position), null));
    connection.onCompletion((params) => this.withSeedDocument(params.textDocument.uri, (doc) => seedCompletions(doc, params.position), []));
    connection.onDocumentSymbol((params) => this.withSeedDocument(params.textDocument.uri, seedSymbols, []));
    connection.onRequest(SeedSummaryRequest, (params) => this.summary(params));
    connection.onShutdown(() => {
      clearTimeout(this.publishTimer);
      if (this.fillTimer !== undefined) clearImmediate(this.fillTimer);
      this.workspace.dispose();
    });
  }

  private log(message: string): void {
    this.connection.console.log(message);
  }

  /** Runs a notification handler; a failure is logged and the document state rebuilt, never a crash. */
  private async guard(what: string, run: () => unknown): Promise<void> {
    try {
      await run();
    } catch (error) {
      this.connection.console.error(`serl: ${what} failed: ${(error as Error).stack ?? String(error)}`);
      this.workspace.rebuild();
      this.schedulePublish(this.workspace.documents.values());
    }
  }

  private withSeedDocument<T>(uri: string, run: (doc: SeedDocument) => T, none: T): T {
    const doc = this.workspace.documents.get(uri);
    return doc === undefined ? none : run(doc);
  }

  private applySettings(raw: unknown, where: string): void {
    const parsed = SeedServerSettingsSchema.safeParse(raw ?? {});
    if (!parsed.success) {
      this.connection.console.error(`serl: ignoring invalid ${where}: ${describeIssues(parsed.error).join('; ')}`);
      return;
    }
    const settings: SeedServerSettings = parsed.data;
    if (settings.seedFiles !== undefined) this.globs = settings.seedFiles;
    if (settings.publishDebounceMs !== undefined) this.debounceMs = settings.publishDebounceMs;
    if (settings.scanWorkspace !== undefined) this.scanWorkspace = settings.scanWorkspace;
    const threshold = settings.nearDuplicateThreshold ?? DEFAULT_NEAR_DUPLICATE_THRESHOLD;
    if (threshold !== this.workspace.threshold) this.workspace.setThreshold(threshold);
  }

  private initialize(params: InitializeParams): InitializeResult {
    this.applySettings(params.initializationOptions, 'initializationOptions');
    const folderUris = params.workspaceFolders?.map((folder) => folder.uri) ?? (params.rootUri ? [params.rootUri] : []);
    this.folders = folderUris.flatMap((uri) => uriToPath(uri) ?? []);
    this.canWatchFiles = params.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
    this.canPullConfiguration = params.capabilities.workspace?.configuration === true;
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, CodeActionKind.RefactorRewrite, CodeActionKind.Source, FIX_ALL_KIND] },
        hoverProvider: true,
        completionProvider: { triggerCharacters: ['"', '{', ','] },
        documentSymbolProvider: true,
      },
      serverInfo: { name: 'serl-seed-server' },
    };
  }

  private async initialized(): Promise<void> {
    if (this.canWatchFiles) {
      const watchers = this.globs.map((globPattern) => ({ globPattern }));
      await this.connection.client.register(DidChangeWatchedFilesNotification.type, { watchers });
    }
    if (this.canPullConfiguration) this.applySettings(await this.connection.workspace.getConfiguration('serl'), 'serl settings');
    await this.scan();
  }

  private async configurationChanged(settings: unknown): Promise<void> {
    const globs = this.globs;
    const raw = this.canPullConfiguration ? await this.connection.workspace.getConfiguration('serl') : (settings as { serl?: unknown } | undefined)?.serl;
    this.applySettings(raw, 'serl settings');
    this.schedulePublish(this.workspace.documents.values());
    if (globs.join('\n') !== this.globs.join('\n')) await this.scan();
  }

  /** Reads every seed file of the workspace folders that the client does not have open. */
  private async scan(): Promise<void> {
    this.scanComplete = false;
    const docs: SeedDocument[] = [];
    if (this.scanWorkspace && this.folders.length > 0) {
      const started = performance.now();
      const files = await findSeedFiles(this.folders, this.globs, (message) => this.log(message));
      for (const file of files) {
        const uri = pathToUri(file);
        if (this.open.has(uri)) continue;
        const text = await readSeedFile(file, (message) => this.log(message));
        if (text !== null) docs.push(this.newDocument(uri, text, null));
      }
      this.log(`serl: read ${docs.length} seed file(s) from the workspace in ${Math.round(performance.now() - started)} ms`);
    }
    // Files no longer matched (the globs changed) leave, unless open.
    const found = new Set(docs.map((doc) => doc.uri));
    for (const uri of [...this.workspace.documents.keys()]) {
      if (!this.open.has(uri) && !found.has(uri)) this.forget(uri);
    }
    this.schedulePublish(this.workspace.addDocuments(docs));
    this.scanComplete = true;
    this.fillIndexInBackground();
  }

  private newDocument(uri: string, text: string, version: number | null): SeedDocument {
    const file = uriToPath(uri);
    const name = (file !== null ? relativeToFolders(file, this.folders) : null) ?? file ?? uri;
    return new SeedDocument(uri, seedFormatForPath(uri), name, text, version);
  }

  /**
   * Fills the similarity index in slices once the join is in, then applies the near-duplicate updates of
   * the edits that waited for it, so no request waits for the index.
   */
  private fillIndexInBackground(): void {
    if (this.fillTimer !== undefined || !this.workspace.tracker.waitingForIndex) return;
    this.fillTimer = setImmediate(() => {
      this.fillTimer = undefined;
      const { complete, affected } = this.workspace.fillIndex(performance.now() + INDEX_FILL_SLICE_MS);
      this.schedulePublish(affected);
      if (!complete) this.fillIndexInBackground();
    });
  }

  private didOpen(uri: string, text: string, version: number): void {
    if (isRunConfigPath(uri)) {
      const config = TextDocument.create(uri, 'json', version, text);
      this.configs.set(uri, config);
      this.publishConfig(config);
      return;
    }
    this.open.add(uri);
    const known = this.workspace.documents.get(uri);
    if (known !== undefined) {
      // The file was read from disk: only the lines the editor's buffer changes are parsed again.
      this.schedulePublish(this.workspace.applyEntryChanges([known], known.replaceText(text, version)));
    } else {
      this.schedulePublish(this.workspace.addDocuments([this.newDocument(uri, text, version)]));
    }
    this.fillIndexInBackground();
  }

  private didChange(uri: string, changes: Parameters<SeedDocument['applyChanges']>[0], version: number): void {
    const config = this.configs.get(uri);
    if (config !== undefined) {
      const updated = TextDocument.update(config, [...changes], version);
      this.configs.set(uri, updated);
      this.publishConfig(updated);
      return;
    }
    const doc = this.workspace.documents.get(uri);
    if (doc === undefined) return;
    this.schedulePublish(this.workspace.applyEntryChanges([doc], doc.applyChanges(changes, version)));
    this.fillIndexInBackground();
  }

  private async didClose(uri: string): Promise<void> {
    if (this.configs.delete(uri)) {
      void this.connection.sendDiagnostics({ uri, diagnostics: [] });
      return;
    }
    this.open.delete(uri);
    const doc = this.workspace.documents.get(uri);
    if (doc === undefined) return;
    // A workspace seed file goes back to its saved text; any other file is forgotten.
    const file = uriToPath(uri);
    const relative = file === null ? null : relativeToFolders(file, this.folders);
    const text = this.scanWorkspace && relative !== null && matchesSeedGlobs(relative, this.globs) ? await readSeedFile(file!, (message) => this.log(message)) : null;
    if (this.open.has(uri)) return; // reopened meanwhile
    if (text === null) this.forget(uri);
    else this.schedulePublish(this.workspace.applyEntryChanges([doc], doc.replaceText(text, null)));
  }

  private forget(uri: string): void {
    const affected = this.workspace.removeDocument(uri);
    const doc = [...this.pending].find((pending) => pending.uri === uri);
    if (doc !== undefined) this.pending.delete(doc);
    void this.connection.sendDiagnostics({ uri, diagnostics: [] });
    this.schedulePublish(affected);
  }

  private async filesChanged(changes: { uri: string; type: number }[]): Promise<void> {
    const read: SeedDocument[] = [];
    for (const { uri, type } of changes) {
      if (this.open.has(uri) || isRunConfigPath(uri)) continue; // the editor's buffer wins
      if (type === FileChangeType.Deleted) {
        this.forget(uri);
        continue;
      }
      const file = uriToPath(uri);
      if (file === null) continue;
      const text = await readSeedFile(file, (message) => this.log(message));
      if (text === null || this.open.has(uri)) continue;
      const known = this.workspace.documents.get(uri);
      if (known !== undefined) this.schedulePublish(this.workspace.applyEntryChanges([known], known.replaceText(text, null)));
      else read.push(this.newDocument(uri, text, null));
    }
    if (read.length > 0) this.schedulePublish(this.workspace.addDocuments(read));
    this.fillIndexInBackground();
  }

  private publishConfig(config: TextDocument): void {
    const diagnostics = validateRunConfig(config.getText(), (offset) => config.positionAt(offset)).map(
      (diagnostic): LspDiagnostic => ({ range: diagnostic.range, severity: DiagnosticSeverity.Error, code: diagnostic.code, source: 'serl', message: diagnostic.message }),
    );
    void this.connection.sendDiagnostics({ uri: config.uri, version: config.version, diagnostics });
  }

  /**
   * Runs `then` once the publications scheduled so far have been written; asked from within a handler,
   * which schedules its publication after the call, so the check waits for the handler to finish.
   */
  private afterPublication(then: () => void): void {
    setImmediate(() => {
      this.afterPublished.push(then);
      if (this.pending.size === 0 && !this.publishing && this.publishTimer === undefined) this.runAfterPublished();
    });
  }

  private runAfterPublished(): void {
    const waiting = this.afterPublished;
    this.afterPublished = [];
    for (const then of waiting) setImmediate(then);
  }

  /**
   * Publishes the documents' current diagnostics after the debounce delay. While a publication is still
   * being written (a client slower to read than edits arrive), later ones wait and merge: each document is
   * then published once, at its latest version, and unread diagnostics never pile up in the server.
   */
  private schedulePublish(docs: Iterable<SeedDocument>): void {
    for (const doc of docs) this.pending.add(doc);
    if (this.pending.size === 0 || this.publishTimer !== undefined || this.publishing) return;
    this.publishTimer = setTimeout(() => {
      this.publishTimer = undefined;
      const docs = [...this.pending];
      this.pending.clear();
      const written: Promise<void>[] = [];
      for (const doc of docs) {
        if (this.workspace.documents.get(doc.uri) !== doc) continue;
        const diagnostics = this.workspace.diagnostics(doc).map((diagnostic) => toLsp(diagnostic, doc.uri));
        written.push(this.connection.sendDiagnostics({ uri: doc.uri, version: doc.version ?? undefined, diagnostics }));
      }
      this.publishing = true;
      void Promise.allSettled(written).then(() => {
        this.publishing = false;
        this.runAfterPublished();
        this.schedulePublish([]);
      });
    }, this.debounceMs);
  }

  private summary(raw: unknown): SeedSummary {
    const { uri } = SeedSummaryParamsSchema.parse(raw ?? {});
    const docs = uri === undefined ? [...this.workspace.documents.values()] : [this.workspace.documents.get(uri)].flatMap((doc) => doc ?? []);
    docs.sort((a, b) => (a.uri < b.uri ? -1 : 1));
    return {
      files: docs.map((doc) => this.workspace.summary(doc, this.open.has(doc.uri))),
      nearDuplicateThreshold: this.workspace.threshold,
      complete: this.scanComplete,
      nearDuplicatesPending: this.workspace.nearDuplicatesPending,
    };
  }
}

const connection = createConnection(ProposedFeatures.all);
new SeedLanguageServer(connection);
connection.listen();
