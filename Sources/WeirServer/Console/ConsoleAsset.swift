/// The console's static files, embedded in the binary (no CDN, no build step): one HTML page,
/// its stylesheet and its script (`ConsolePage`, `ConsoleStyle`, `ConsoleScript`). The page is
/// plain DOM and SVG; everything it shows comes from the `/v1/` JSON endpoints.
enum ConsoleAsset: Equatable {
    case page, css, js

    var contentType: String {
        switch self {
        case .page: return "text/html; charset=utf-8"
        case .css: return "text/css; charset=utf-8"
        case .js: return "text/javascript; charset=utf-8"
        }
    }

    var text: String {
        switch self {
        case .page: return ConsolePage.html
        case .css: return ConsoleStyle.css
        case .js: return ConsoleScript.js
        }
    }
}
