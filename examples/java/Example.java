// The examples' scenario in Java 17, the JDK only: run as a single source file, `java Example.java`.
// An administrator makes a folder and a token scoped to it; that token works inside the folder (a building,
// its children, a second token, the folder's tokens, verifying a key) and is refused outside it.
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

public class Example {
  // HTTP/1.1: the default would ask a plain-http server to upgrade to HTTP/2 on every request.
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  static String api;

  /** keygate said no: the status and its error envelope's code and message. */
  static class Refused extends Exception {
    final int status;
    final String code;

    Refused(int status, String code, String message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  public static void main(String[] args) throws Exception {
    String url = setting("KEYGATE_URL", "the keygate server, e.g. http://localhost:8080");
    String adminKey = setting("KEYGATE_ADMIN_KEY", "an administrator's API key");
    String givenAccount = System.getenv().getOrDefault("KEYGATE_ACCOUNT_ID", "");
    api = url.replaceAll("/+$", "") + "/api/v1.0";
    try {
      run(adminKey, givenAccount);
    } catch (Refused r) {
      fail("error: keygate refused a step: " + r.status + " " + r.code + ": " + r.getMessage());
    } catch (IOException e) {
      fail("error: cannot reach " + url + ": " + e);
    }
  }

  static void run(String adminKey, String givenAccount) throws Exception {
    String accountId;
    if (!givenAccount.isEmpty()) {
      accountId = givenAccount;
      System.out.println("account: " + accountId + " (given)");
    } else {
      accountId = str(call("POST", "/resources", adminKey, Map.of("type", "account", "name", "Example account")), "id");
      System.out.println("account: " + accountId + " \"Example account\" (created)");
    }

    String folderId = str(call("POST", "/resources", adminKey,
        Map.of("type", "folder", "name", "Example folder", "parentId", accountId)), "id");
    System.out.println("folder: " + folderId + " \"Example folder\" in " + accountId);

    // The administrator level holds keys:verify, which POST /verify needs. The key is in this answer only.
    Map<String, Object> token = call("POST", "/resources/" + folderId + "/tokens", adminKey,
        Map.of("name", "Example folder token", "level", "administrator"));
    String folderKey = str(token, "key");
    System.out.println("folder token: " + str(token, "id") + " " + str(token, "keyPrefix") + "... administrator on the folder");

    // From here on, only the folder token acts.
    String buildingId = str(call("POST", "/resources", folderKey,
        Map.of("type", "building", "name", "Example building", "parentId", folderId)), "id");
    System.out.println("building: " + buildingId + " \"Example building\" in the folder (as the folder token)");

    System.out.println("children: " + items(call("GET", "/resources/" + folderId + "/children", folderKey, null)).stream()
        .map(r -> str(r, "id") + " " + str(r, "type") + " \"" + str(r, "name") + "\"")
        .collect(Collectors.joining(", ")));

    Map<String, Object> reader = call("POST", "/resources/" + folderId + "/tokens", folderKey,
        Map.of("name", "Example reader token", "level", "reader"));
    String readerKey = str(reader, "key");
    System.out.println("reader token: " + str(reader, "id") + " " + str(reader, "keyPrefix")
        + "... reader on the folder (as the folder token)");

    System.out.println("tokens on the folder: " + items(call("GET", "/resources/" + folderId + "/tokens", folderKey, null))
        .stream().map(t -> str(t, "id") + " " + str(t, "keyPrefix") + "...").collect(Collectors.joining(", ")));

    for (String permission : List.of("resources:read", "resources:write")) {
      Map<String, Object> answer = call("POST", "/verify", folderKey,
          Map.of("key", readerKey, "resourceId", folderId, "permission", permission));
      System.out.println("verify: reader key, " + permission + " on the folder -> " + str(answer, "code"));
    }

    // Outside the folder: the token cannot even see the account, so keygate answers as if it did not exist.
    try {
      call("POST", "/resources", folderKey, Map.of("type", "building", "name", "Stray building", "parentId", accountId));
      fail("error: the folder token created a building in the account");
    } catch (Refused r) {
      System.out.println("refused: a building in the account -> " + r.code + ": " + r.getMessage());
    }
  }

  /** Calls the API with a key; answers the parsed object, or throws Refused with the error envelope. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> call(String method, String path, String key, Map<String, String> body)
      throws IOException, InterruptedException, Refused {
    HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(api + path)).header("X-API-Key", key);
    if (body == null) req.method(method, HttpRequest.BodyPublishers.noBody());
    else req.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(toJson(body)));
    HttpResponse<String> res = HTTP.send(req.build(), HttpResponse.BodyHandlers.ofString());
    Map<String, Object> parsed = (Map<String, Object>) new Json(res.body()).value();
    if (res.statusCode() >= 400) {
      Map<String, Object> error = (Map<String, Object>) parsed.get("error");
      throw new Refused(res.statusCode(), str(error, "code"), str(error, "message"));
    }
    return parsed;
  }

  static String str(Map<String, Object> object, String name) {
    return String.valueOf(object.get(name));
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> items(Map<String, Object> page) {
    return (List<Map<String, Object>>) page.get("items");
  }

  static String setting(String name, String meaning) {
    String value = System.getenv(name);
    if (value == null || value.isEmpty()) fail(name + " is not set: " + meaning);
    return value;
  }

  static void fail(String message) {
    System.err.println(message);
    System.exit(1);
  }

  static String toJson(Map<String, String> object) {
    return object.entrySet().stream()
        .map(e -> quote(e.getKey()) + ":" + quote(e.getValue()))
        .collect(Collectors.joining(",", "{", "}"));
  }

  static String quote(String s) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') out.append('\\').append(c);
      else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
      else out.append(c);
    }
    return out.append('"').toString();
  }

  /** Just enough JSON for keygate's answers: objects, arrays, strings, numbers, true, false, null. */
  static final class Json {
    private final String text;
    private int at;

    Json(String text) {
      this.text = text;
    }

    Object value() {
      skipSpace();
      char c = text.charAt(at);
      if (c == '{') return object();
      if (c == '[') return array();
      if (c == '"') return string();
      if (text.startsWith("true", at)) { at += 4; return true; }
      if (text.startsWith("false", at)) { at += 5; return false; }
      if (text.startsWith("null", at)) { at += 4; return null; }
      int start = at;
      while (at < text.length() && "+-0123456789.eE".indexOf(text.charAt(at)) >= 0) at++;
      if (start == at) throw new IllegalArgumentException("not JSON at " + at + ": " + text);
      return Double.parseDouble(text.substring(start, at));
    }

    private Map<String, Object> object() {
      Map<String, Object> out = new LinkedHashMap<>();
      at++;
      skipSpace();
      if (text.charAt(at) == '}') { at++; return out; }
      while (true) {
        skipSpace();
        String name = string();
        skipSpace();
        expect(':');
        out.put(name, value());
        skipSpace();
        if (text.charAt(at++) == '}') return out;
      }
    }

    private List<Object> array() {
      List<Object> out = new ArrayList<>();
      at++;
      skipSpace();
      if (text.charAt(at) == ']') { at++; return out; }
      while (true) {
        out.add(value());
        skipSpace();
        if (text.charAt(at++) == ']') return out;
      }
    }

    private String string() {
      expect('"');
      StringBuilder out = new StringBuilder();
      while (true) {
        char c = text.charAt(at++);
        if (c == '"') return out.toString();
        if (c != '\\') { out.append(c); continue; }
        char e = text.charAt(at++);
        switch (e) {
          case 'n' -> out.append('\n');
          case 't' -> out.append('\t');
          case 'r' -> out.append('\r');
          case 'b' -> out.append('\b');
          case 'f' -> out.append('\f');
          case 'u' -> { out.append((char) Integer.parseInt(text.substring(at, at + 4), 16)); at += 4; }
          default -> out.append(e);
        }
      }
    }

    private void expect(char c) {
      if (text.charAt(at++) != c) throw new IllegalArgumentException("expected " + c + " at " + (at - 1));
    }

    private void skipSpace() {
      while (at < text.length() && Character.isWhitespace(text.charAt(at))) at++;
    }
  }
}
