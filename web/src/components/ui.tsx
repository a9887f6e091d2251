import type { ReactNode } from 'react';
import {
  Button as AriaButton,
  type ButtonProps as AriaButtonProps,
  Dialog,
  FieldError,
  Heading,
  Input,
  Label,
  ListBox,
  ListBoxItem,
  Modal,
  ModalOverlay,
  Popover,
  Select,
  SelectValue,
  Text,
  TextField as AriaTextField,
  type TextFieldProps as AriaTextFieldProps,
  type Key,
} from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { errorText } from '../api/errors';

/** The console's button: React Aria's, with one of four looks. */
export function Button({
  variant = 'secondary',
  className,
  ...props
}: AriaButtonProps & { variant?: 'primary' | 'secondary' | 'danger' | 'quiet' }) {
  return <AriaButton {...props} className={`btn btn-${variant}${className ? ` ${className}` : ''}`} />;
}

/** A labelled text field with an optional hint and the error React Aria or the server gives it. */
export function TextField({
  label,
  description,
  type,
  placeholder,
  ...props
}: AriaTextFieldProps & { label: string; description?: string; placeholder?: string }) {
  return (
    <AriaTextField {...props} type={type} className="field">
      <Label className="field-label">{label}</Label>
      <Input placeholder={placeholder} />
      {description && <Text slot="description">{description}</Text>}
      <FieldError />
    </AriaTextField>
  );
}

export interface Choice {
  id: string;
  label: string;
  description?: string;
}

/** A labelled single choice from a short list (React Aria's Select). */
export function SelectField({
  label,
  name,
  choices,
  value,
  onChange,
  description,
  isDisabled,
}: {
  label: string;
  name?: string;
  choices: readonly Choice[];
  value: string | null;
  onChange: (value: string) => void;
  description?: string;
  isDisabled?: boolean;
}) {
  return (
    <Select
      className="field"
      name={name}
      value={value}
      onChange={(key: Key | null) => key !== null && onChange(String(key))}
      isDisabled={isDisabled}
    >
      <Label className="field-label">{label}</Label>
      <AriaButton className="select-button">
        {/* The chosen option's label only: its description belongs in the list, not in the button. */}
        <SelectValue>{({ selectedText, defaultChildren }) => selectedText ?? defaultChildren}</SelectValue>
        <span aria-hidden="true" className="select-arrow">
          ▾
        </span>
      </AriaButton>
      {description && <Text slot="description">{description}</Text>}
      <FieldError />
      <Popover className="popover">
        <ListBox className="listbox" items={choices}>
          {(c) => (
            <ListBoxItem id={c.id} textValue={c.label} className="listbox-item">
              <span>{c.label}</span>
              {c.description && <small>{c.description}</small>}
            </ListBoxItem>
          )}
        </ListBox>
      </Popover>
    </Select>
  );
}

/** A modal dialog with a heading; closes on Escape and gives focus back where it came from. */
export function AppDialog({
  title,
  isOpen,
  onOpenChange,
  children,
  size = 'medium',
  isDismissable = true,
}: {
  title: string;
  isOpen: boolean;
  onOpenChange: (open: boolean) => void;
  children: ReactNode | ((close: () => void) => ReactNode);
  size?: 'small' | 'medium' | 'large';
  isDismissable?: boolean;
}) {
  return (
    <ModalOverlay
      className="modal-overlay"
      isOpen={isOpen}
      onOpenChange={onOpenChange}
      isDismissable={isDismissable}
      isKeyboardDismissDisabled={!isDismissable}
    >
      <Modal className={`modal modal-${size}`}>
        <Dialog className="dialog">
          {({ close }) => (
            <>
              <Heading slot="title">{title}</Heading>
              {typeof children === 'function' ? children(close) : children}
            </>
          )}
        </Dialog>
      </Modal>
    </ModalOverlay>
  );
}

/** A refusal or failure, said in the user's language, announced to screen readers. */
export function ErrorMessage({ error, text }: { error?: unknown; text?: string | null }) {
  const { t } = useTranslation();
  if (!error && !text) return null;
  return (
    <div role="alert" className="alert alert-error">
      {text ?? errorText(t, error)}
    </div>
  );
}

/** A short wait, announced politely. */
export function Loading() {
  const { t } = useTranslation();
  return (
    <p role="status" className="loading">
      {t('app.loading')}
    </p>
  );
}

/** "Load more" under a cursor-paged list (a TanStack infinite query); absent when there is no next page. */
export function LoadMore({
  pages,
}: {
  pages: { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage: () => Promise<unknown> };
}) {
  const { t } = useTranslation();
  if (!pages.hasNextPage) return null;
  return (
    <div className="log-more">
      <Button onPress={() => void pages.fetchNextPage()} isDisabled={pages.isFetchingNextPage}>
        {pages.isFetchingNextPage ? t('app.loading') : t('common.loadMore')}
      </Button>
    </div>
  );
}
