// The dashboard page: a strict Content Security Policy (no remote resources, scripts and styles only
// with this page's nonce or from the extension's own files) around the bundled app in dist/webview.
import { randomBytes } from 'node:crypto';

/** Where the page runs: the sidebar view (narrow) or an editor tab. The app adapts its layout. */
export type DashboardLayout = 'sidebar' | 'panel';

export interface DashboardPage {
  /** `webview.cspSource`: the origin the webview serves the extension's files from. */
  cspSource: string;
  /** `webview.asWebviewUri` of dist/webview/dashboard.js and dashboard.css. */
  scriptUri: string;
  styleUri: string;
  layout: DashboardLayout;
  nonce?: string;
}

/** A fresh CSP nonce (128 bits, base64 without padding). */
export function newNonce(): string {
  return randomBytes(16).toString('base64').replace(/=+$/, '');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [`default-src 'none'`, `script-src 'nonce-${nonce}'`, `style-src ${cspSource} 'nonce-${nonce}'`].join('; ');
}

const ATTRIBUTE_ESCAPES: Record<string, string> = { '&': '&amp;', '"': '&quot;', '<': '&lt;', '>': '&gt;' };

/** A value for a double-quoted attribute (the CSP's single quotes stay readable). */
function attribute(value: string): string {
  return value.replace(/[&"<>]/g, (char) => ATTRIBUTE_ESCAPES[char]);
}

export function dashboardHtml(page: DashboardPage): string {
  const nonce = page.nonce ?? newNonce();
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attribute(contentSecurityPolicy(page.cspSource, nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" nonce="${attribute(nonce)}" href="${attribute(page.styleUri)}">
<title>SeRL Dashboard</title>
</head>
<body data-layout="${attribute(page.layout)}">
<div id="app" data-testid="serl-dashboard"></div>
<script nonce="${attribute(nonce)}" src="${attribute(page.scriptUri)}"></script>
</body>
</html>
`;
}
